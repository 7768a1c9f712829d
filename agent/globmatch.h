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
//    {a,b}   brace alternation, as in Ruby's Dir.glob (which knapsack's
//            patterns are written for): the pattern matches if one of its
//            expansions does. Alternatives may be empty and may hold '/',
//            wildcards and further groups: "spec/**{,/*/**}/*_spec.rb"
//            (knapsack's default) is "spec/**/*_spec.rb" or
//            "spec/**/*/**/*_spec.rb". A '{' with no matching '}' is
//            literal, as is a ',' outside a group; "{a}" is "a". Escape a
//            literal brace or comma with '\'.
//  A leading "./" in the pattern (in each of its expansions) or the path is
//  ignored.
#ifndef SATCHEL_GLOBMATCH_H
#define SATCHEL_GLOBMATCH_H

#include <stdbool.h>
#include <stddef.h>

//  Bounds on brace alternation. Each expansion is matched on its own, so
//  the bounds keep the cost of one match a constant times that of a
//  pattern without braces.
#define GLOB_MAX_ALTERNATIVES 256    //  expansions of one pattern
#define GLOB_MAX_BRACE_GROUPS 64     //  {...} groups in one pattern

//  Check that pattern is within the bounds above. Returns 0, or -1 with
//  why filled in ("... expands to more than 256 alternatives ...").
int glob_check (const char *pattern, char *why, size_t why_size);

//  True if path matches pattern. Runs in polynomial time (no exponential
//  backtracking on patterns such as "**/**/**/a"). A pattern that
//  glob_check refuses matches nothing.
bool glob_match (const char *pattern, const char *path);

//  The longest leading run of whole segments of pattern that holds no
//  wildcard (a brace counts as one), as a malloc'd string ("spec/models"
//  for "spec/models/**/*.rb", "." if none). Discovery starts its walk
//  there. The last segment is never part of it (it names the files
//  matched): "spec" for "spec/a_spec.rb".
//  Escapes are undone, since the result is a real path.
char *glob_base_dir (const char *pattern);

#endif
