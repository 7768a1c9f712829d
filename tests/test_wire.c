/*  test_wire.c: wire_check accepts every msgpack format the protocol may
    carry and refuses, with a reason that names the problem, every frame
    that lies about its sizes, nests too deep, uses ext types or 0xc1, or
    does not hold exactly one object. A seeded fuzz loop then checks that
    whatever wire_check accepts, msgpack-c unpacks completely.            */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "test_rng.h"
#include "wire.h"

//  Roomy limits, so each test trips only the check it is about.
static const wire_limits_t s_roomy = {
    .max_frame = 1 << 20,
    .max_depth = 8,
    .max_elements = 1 << 20,
    .max_string = 1 << 20,
    .max_total = 0
};

static char s_reason[256];

static int
s_check (const void *data, size_t size, const wire_limits_t *limits)
{
    memset (s_reason, 'x', sizeof s_reason);
    s_reason[sizeof s_reason - 1] = 0;
    return wire_check (data, size, limits, s_reason, sizeof s_reason);
}

//  Assert that a frame is refused with a reason containing expected.
#define assert_refused(bytes, size, limits, expected) do { \
    assert_int_equal (s_check ((bytes), (size), (limits)), -1); \
    if (!strstr (s_reason, (expected))) \
        fail_msg ("reason \"%s\" lacks \"%s\"", s_reason, (expected)); \
} while (0)

#define BYTES(...) ((const uint8_t []) { __VA_ARGS__ })
#define SIZE(...) sizeof ((const uint8_t []) { __VA_ARGS__ })
#define CHECK_OK(...) assert_int_equal (s_check (BYTES (__VA_ARGS__), SIZE (__VA_ARGS__), &s_roomy), 0)

static void
test_scalars (void **state)
{
    CHECK_OK (0x00);                            //  positive fixint
    CHECK_OK (0x7f);
    CHECK_OK (0xe0);                            //  negative fixint
    CHECK_OK (0xff);
    CHECK_OK (0xc0);                            //  nil
    CHECK_OK (0xc2);                            //  false
    CHECK_OK (0xc3);                            //  true
    CHECK_OK (0xcc, 0xff);                      //  uint8
    CHECK_OK (0xcd, 0xff, 0xff);                //  uint16
    CHECK_OK (0xce, 1, 2, 3, 4);                //  uint32
    CHECK_OK (0xcf, 1, 2, 3, 4, 5, 6, 7, 8);    //  uint64
    CHECK_OK (0xd0, 0x80);                      //  int8
    CHECK_OK (0xd1, 0x80, 0x00);                //  int16
    CHECK_OK (0xd2, 0x80, 0, 0, 0);             //  int32
    CHECK_OK (0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0); //  int64
    CHECK_OK (0xca, 0x3f, 0x80, 0, 0);          //  float32 1.0
    CHECK_OK (0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0);  //  float64 1.0
    assert_string_equal (s_reason, "");
}

static void
test_strings_and_binaries (void **state)
{
    CHECK_OK (0xa0);                            //  empty fixstr
    CHECK_OK (0xa3, 'a', 'b', 'c');             //  fixstr
    CHECK_OK (0xd9, 2, 'h', 'i');               //  str8
    CHECK_OK (0xda, 0, 2, 'h', 'i');            //  str16
    CHECK_OK (0xdb, 0, 0, 0, 2, 'h', 'i');      //  str32
    CHECK_OK (0xc4, 1, 0);                      //  bin8
    CHECK_OK (0xc5, 0, 1, 0);                   //  bin16
    CHECK_OK (0xc6, 0, 0, 0, 1, 0);             //  bin32
    CHECK_OK (0xc4, 0);                         //  empty bin8

    //  31 bytes in a fixstr, the largest the form holds
    uint8_t fixstr[32] = { 0xbf };
    memset (fixstr + 1, 'z', 31);
    assert_int_equal (s_check (fixstr, sizeof fixstr, &s_roomy), 0);
    assert_refused (fixstr, 31, &s_roomy, "string of 31 bytes exceeds the 30 bytes left");
}

static void
test_containers (void **state)
{
    CHECK_OK (0x90);                            //  empty fixarray
    CHECK_OK (0x80);                            //  empty fixmap
    CHECK_OK (0x92, 0x01, 0xa1, 'x');           //  fixarray
    CHECK_OK (0x81, 0xa1, 'k', 0xc3);           //  fixmap
    CHECK_OK (0xdc, 0, 2, 1, 2);                //  array16
    CHECK_OK (0xdd, 0, 0, 0, 2, 1, 2);          //  array32
    CHECK_OK (0xde, 0, 1, 1, 2);                //  map16
    CHECK_OK (0xdf, 0, 0, 0, 1, 1, 2);          //  map32
    CHECK_OK (0x82, 0xa1, 'a', 0x91, 0x80, 0xa1, 'b', 0x90);   //  nested
    //  Keys may be any type at this level; the protocol checks them later.
    CHECK_OK (0x81, 0x01, 0x02);
}

static void
test_huge_counts (void **state)
{
    //  The frame from msgpack-c issue #1013: an array32 claiming four
    //  billion elements in five bytes. wire_check allocates nothing, so
    //  passing here is passing before any allocation.
    assert_refused (BYTES (0xdd, 0xff, 0xff, 0xff, 0xff), 5, &s_roomy,
                    "array of 4294967295 elements exceeds the 0 bytes left");
    assert_refused (BYTES (0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6), 11, &s_roomy,
                    "array of 4294967295 elements exceeds the 6 bytes left");
    assert_refused (BYTES (0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2), 7, &s_roomy,
                    "map of 4294967295 pairs exceeds the 2 bytes left");
    assert_refused (BYTES (0xdc, 0xff, 0xff), 3, &s_roomy,
                    "array of 65535 elements exceeds the 0 bytes left");
    assert_refused (BYTES (0xde, 0x80, 0x00, 1, 2), 5, &s_roomy,
                    "map of 32768 pairs exceeds the 2 bytes left");
    //  A map pair takes at least two bytes: 2 pairs in 3 bytes is a lie.
    assert_refused (BYTES (0x82, 1, 2, 3), 4, &s_roomy,
                    "map of 2 pairs exceeds the 3 bytes left");
    //  Nested: the inner claim is checked against what is left for it.
    assert_refused (BYTES (0x92, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01), 7, &s_roomy,
                    "array of 2147483647 elements exceeds the 1 bytes left");
}

static void
test_huge_lengths (void **state)
{
    assert_refused (BYTES (0xdb, 0xff, 0xff, 0xff, 0xff), 5, &s_roomy,
                    "string of 4294967295 bytes exceeds the 0 bytes left");
    assert_refused (BYTES (0xc6, 0xff, 0xff, 0xff, 0xff, 0), 6, &s_roomy,
                    "binary of 4294967295 bytes exceeds the 1 bytes left");
    assert_refused (BYTES (0xd9, 5, 'a', 'b'), 4, &s_roomy,
                    "string of 5 bytes exceeds the 2 bytes left");
    assert_refused (BYTES (0xda, 0x01, 0x00), 3, &s_roomy,
                    "string of 256 bytes exceeds the 0 bytes left");
    assert_refused (BYTES (0xa5, 'a'), 2, &s_roomy, "string of 5 bytes exceeds the 1 bytes left");
}

static void
test_limits (void **state)
{
    wire_limits_t limits = s_roomy;

    limits.max_string = 2;
    CHECK_OK (0xa2, 'a', 'b');
    assert_int_equal (s_check (BYTES (0xa2, 'a', 'b'), 3, &limits), 0);
    assert_refused (BYTES (0xa3, 'a', 'b', 'c'), 4, &limits,
                    "string of 3 bytes exceeds the limit of 2 bytes");
    assert_refused (BYTES (0xc4, 3, 'a', 'b', 'c'), 5, &limits,
                    "binary of 3 bytes exceeds the limit of 2 bytes");

    limits = s_roomy;
    limits.max_elements = 2;
    assert_int_equal (s_check (BYTES (0x92, 1, 2), 3, &limits), 0);
    assert_refused (BYTES (0x93, 1, 2, 3), 4, &limits, "array of 3 elements exceeds the limit of 2");
    assert_refused (BYTES (0x83, 1, 1, 2, 2, 3, 3), 7, &limits,
                    "map of 3 pairs exceeds the limit of 2");

    limits = s_roomy;
    limits.max_total = 4;       //  the array and its three elements
    assert_int_equal (s_check (BYTES (0x93, 1, 2, 3), 4, &limits), 0);
    assert_refused (BYTES (0x94, 1, 2, 3, 4), 5, &limits, "more than 4 objects in the frame");
    //  Map keys count too: one map, two keys, two values.
    assert_refused (BYTES (0x82, 1, 1, 2, 2), 5, &limits, "more than 4 objects");

    limits = s_roomy;
    limits.max_frame = 4;
    assert_int_equal (s_check (BYTES (0x93, 1, 2, 3), 4, &limits), 0);
    assert_refused (BYTES (0x94, 1, 2, 3, 4), 5, &limits,
                    "frame of 5 bytes exceeds the limit of 4 bytes");
}

static void
test_depth (void **state)
{
    wire_limits_t limits = s_roomy;
    limits.max_depth = 3;
    //  Three arrays deep is allowed, the fourth is not, whatever its size.
    assert_int_equal (s_check (BYTES (0x91, 0x91, 0x91, 0x01), 4, &limits), 0);
    assert_int_equal (s_check (BYTES (0x91, 0x91, 0x90), 3, &limits), 0);
    assert_refused (BYTES (0x91, 0x91, 0x91, 0x90), 4, &limits,
                    "array at byte 3 is nested 4 deep, more than the limit of 3");
    assert_refused (BYTES (0x81, 0x01, 0x81, 0x01, 0x81, 0x01, 0x80), 7, &limits,
                    "map at byte 6 is nested 4 deep");
    //  A map key is as deep as its value.
    assert_refused (BYTES (0x91, 0x91, 0x81, 0x90, 0x01), 5, &limits, "nested 4 deep");

    limits.max_depth = 0;
    CHECK_OK (0x01);
    assert_int_equal (s_check (BYTES (0x01), 1, &limits), 0);
    assert_refused (BYTES (0x90), 1, &limits, "nested 1 deep");

    //  Whatever the limit says, the walk stops at msgpack-c's own depth of
    //  32, which also bounds wire_check's recursion.
    limits.max_depth = SIZE_MAX;
    uint8_t deep[4096];
    memset (deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0x01;
    assert_refused (deep, sizeof deep, &limits, "nested 33 deep, more than the limit of 32");
    assert_int_equal (s_check (deep + sizeof deep - 33, 33, &limits), 0);
}

static void
test_forbidden_types (void **state)
{
    assert_refused (BYTES (0xc1), 1, &s_roomy, "byte 0xc1 at byte 0 is never used");
    assert_refused (BYTES (0x91, 0xc1), 2, &s_roomy, "byte 0xc1 at byte 1");
    assert_refused (BYTES (0xd4, 1, 0), 3, &s_roomy, "ext type 0xd4 at byte 0 is not allowed");
    assert_refused (BYTES (0xd5, 1, 0, 0), 4, &s_roomy, "ext type 0xd5");
    assert_refused (BYTES (0xd6, 1, 0, 0, 0, 0), 6, &s_roomy, "ext type 0xd6");
    assert_refused (BYTES (0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0), 10, &s_roomy, "ext type 0xd7");
    uint8_t fixext16[18] = { 0xd8, 1 };
    assert_refused (fixext16, sizeof fixext16, &s_roomy, "ext type 0xd8");
    assert_refused (BYTES (0xc7, 1, 1, 0), 4, &s_roomy, "ext type 0xc7");
    assert_refused (BYTES (0xc8, 0, 1, 1, 0), 5, &s_roomy, "ext type 0xc8");
    assert_refused (BYTES (0xc9, 0, 0, 0, 1, 1, 0), 7, &s_roomy, "ext type 0xc9");
    //  Hidden inside a map value
    assert_refused (BYTES (0x81, 0xa1, 'k', 0xd4, 1, 0), 6, &s_roomy, "ext type 0xd4 at byte 3");
}

static void
test_framing (void **state)
{
    assert_refused (NULL, 0, &s_roomy, "truncated input: the frame is empty");
    assert_refused (BYTES (0x01, 0x02), 2, &s_roomy,
                    "trailing bytes after message: 1 bytes after the object that ends at byte 1");
    assert_refused (BYTES (0x80, 0x80), 2, &s_roomy, "trailing bytes after message");
    assert_refused (BYTES (0x92, 0xa1, 'x'), 3, &s_roomy,
                    "truncated input: an object is missing at byte 3");
    assert_refused (BYTES (0xcf, 1, 2, 3), 4, &s_roomy,
                    "truncated input: uint64 at byte 0 needs 8 bytes, 3 left");
    assert_refused (BYTES (0xdd, 0, 0), 3, &s_roomy,
                    "truncated input: array at byte 0 needs 4 bytes, 2 left");
    assert_refused (BYTES (0xda, 0), 2, &s_roomy, "truncated input: string at byte 0");
    assert_refused (BYTES (0xcb, 0, 0, 0), 4, &s_roomy, "truncated input: float64");
}

//  A message shaped like the protocol's, packed with msgpack-c.
static void
s_pack_sample (msgpack_sbuffer *buffer, int unit_count)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    msgpack_pack_str_with_body (&pk, "v", 1);
    msgpack_pack_uint64 (&pk, 1);
    msgpack_pack_str_with_body (&pk, "units", 5);
    msgpack_pack_array (&pk, (size_t) unit_count);
    for (int i = 0; i < unit_count; i++) {
        char name[32];
        int length = snprintf (name, sizeof name, "spec/unit_%03d_spec.rb", i);
        msgpack_pack_str_with_body (&pk, name, (size_t) length);
    }
    msgpack_pack_str_with_body (&pk, "report", 6);
    msgpack_pack_map (&pk, 2);
    msgpack_pack_str_with_body (&pk, "exit", 4);
    msgpack_pack_int64 (&pk, -9);
    msgpack_pack_str_with_body (&pk, "times", 5);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint64 (&pk, 70000);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    msgpack_pack_double (&pk, 2.5);
    msgpack_pack_str_with_body (&pk, "bin", 3);
    msgpack_pack_bin_with_body (&pk, "\0\1\2", 3);
    msgpack_pack_str_with_body (&pk, "flags", 5);
    msgpack_pack_array (&pk, 3);
    msgpack_pack_nil (&pk);
    msgpack_pack_true (&pk);
    msgpack_pack_float (&pk, 1.5f);
}

static void
test_every_prefix_truncated (void **state)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    s_pack_sample (&buffer, 300);
    assert_int_equal (s_check (buffer.data, buffer.size, &s_roomy), 0);
    for (size_t size = 1; size < buffer.size; size++) {
        //  A copy of exactly size bytes, so ASan sees any read past it.
        uint8_t *prefix = malloc (size);
        assert_non_null (prefix);
        memcpy (prefix, buffer.data, size);
        //  Cut inside a string or under a count, the claim outruns the
        //  bytes; cut between objects, the next object is missing.
        assert_int_equal (s_check (prefix, size, &s_roomy), -1);
        if (!strstr (s_reason, "truncated input") && !strstr (s_reason, "bytes left"))
            fail_msg ("prefix of %zu bytes: unexpected reason \"%s\"", size, s_reason);
        free (prefix);
    }
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_reason_buffer (void **state)
{
    //  A short buffer gets a truncated, terminated reason; none at all is fine.
    char small[8];
    memset (small, 'x', sizeof small);
    assert_int_equal (wire_check (BYTES (0xc1), 1, &s_roomy, small, sizeof small), -1);
    assert_int_equal (strlen (small), sizeof small - 1);
    assert_int_equal (wire_check (BYTES (0xc1), 1, &s_roomy, NULL, 0), -1);
    assert_int_equal (wire_check (BYTES (0x01), 1, &s_roomy, NULL, 0), 0);
    //  Success clears a reason left from before.
    strcpy (small, "old");
    assert_int_equal (wire_check (BYTES (0x01), 1, &s_roomy, small, sizeof small), 0);
    assert_string_equal (small, "");
}

//  A fixed seed (test_rng.h) makes every run test the same inputs.
static void
test_fuzz_agrees_with_msgpack (void **state)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    s_pack_sample (&buffer, 4);
    size_t size = buffer.size;
    test_rng_t seed = { 0x5a7c4e1d2b3f6a79 };
    size_t accepted = 0, refused = 0;
    uint8_t *frame = malloc (size);
    assert_non_null (frame);
    for (int round = 0; round < 20000; round++) {
        memcpy (frame, buffer.data, size);
        //  One frame in eight is also cut short.
        size_t length = size;
        if (test_rng_next (&seed) % 8 == 0)
            length = 1 + test_rng_next (&seed) % size;
        int flips = 1 + (int) (test_rng_next (&seed) % 4);
        for (int f = 0; f < flips; f++) {
            uint64_t r = test_rng_next (&seed);
            frame[r % length] = (uint8_t) (r >> 32);
        }
        if (wire_check (frame, length, &s_roomy, s_reason, sizeof s_reason) != 0) {
            assert_true (strlen (s_reason) > 0);
            refused++;
            continue;
        }
        //  What wire_check accepts, msgpack-c must unpack whole.
        accepted++;
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        msgpack_unpack_return rc = msgpack_unpack_next (&unpacked, (const char *) frame,
                                                        length, &offset);
        assert_int_equal (rc, MSGPACK_UNPACK_SUCCESS);
        assert_int_equal (offset, length);
        msgpack_unpacked_destroy (&unpacked);
    }
    free (frame);
    msgpack_sbuffer_destroy (&buffer);
    //  Both outcomes must be exercised, or the loop proves little.
    assert_true (accepted > 100);
    assert_true (refused > 100);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_scalars),
        cmocka_unit_test (test_strings_and_binaries),
        cmocka_unit_test (test_containers),
        cmocka_unit_test (test_huge_counts),
        cmocka_unit_test (test_huge_lengths),
        cmocka_unit_test (test_limits),
        cmocka_unit_test (test_depth),
        cmocka_unit_test (test_forbidden_types),
        cmocka_unit_test (test_framing),
        cmocka_unit_test (test_every_prefix_truncated),
        cmocka_unit_test (test_reason_buffer),
        cmocka_unit_test (test_fuzz_agrees_with_msgpack),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
