//  globmatch.h: path globs with "**", as CI users write them
//  ("spec/**/*_spec.rb", "tests/**/test_*.py").
//  (Line comments, not a block comment: these globs hold its terminator.)
//
//  Rules, matched against a relative path with '/' separators:
//    *       any run of bytes except '/'
//    ?       one byte except '/'
//    [abc] [a-z] [!a-z]   one byte from (or not from) the set, never '/'
//    **      as a whole path segment ("a/**/b", "**/x", "a/**"): zero or
//            more whole segments; elsewhere it acts as '*'
//    \x      the byte x literally
//  A leading "./" in the pattern or the path is ignored.
#ifndef SATCHEL_GLOBMATCH_H
#define SATCHEL_GLOBMATCH_H

#include <stdbool.h>

//  True if path matches pattern. Runs in polynomial time (no exponential
//  backtracking on patterns such as "**/**/**/a").
bool glob_match (const char *pattern, const char *path);

//  The longest leading run of whole segments of pattern that holds no
//  wildcard, as a malloc'd string ("spec/models" for "spec/models/**/*.rb",
//  "." if none). Discovery starts its walk there. The last segment is never
//  part of it (it names the files matched): "spec" for "spec/a_spec.rb".
//  Escapes are undone, since the result is a real path.
char *glob_base_dir (const char *pattern);

#endif
