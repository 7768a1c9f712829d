/*  fuzz.h: what the fuzz targets share.

    Each target is one LLVMFuzzerTestOneInput. Built with clang and
    -fsanitize=fuzzer it is a libFuzzer binary; built with replay_main.c
    (any compiler) it replays a corpus, which is how ctest runs it.

    Targets check properties, not only "does not crash", and a broken
    property must stop the run in both builds. assert is off in the
    project's RelWithDebInfo build (NDEBUG), so FUZZ_CHECK is used
    instead: it names the property and aborts, which libFuzzer reports as
    a crash and saves the input.                                           */
#ifndef SATCHEL_FUZZ_H
#define SATCHEL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do { \
    if (!(cond)) { \
        fprintf (stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond); \
        abort (); \
    } \
} while (0)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#endif
