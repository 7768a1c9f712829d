/*  test_globmatch.c: unit tests for path globs (globmatch.h), brace
    alternation included.                                                  */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "globmatch.h"
#include "test_rng.h"
#include "util.h"

typedef struct {
    const char *pattern;    //  glob
    const char *path;       //  path tried against it
    bool expect;            //  whether it must match
} s_case_t;

//  Run a table; on failure name the case, since a bare line number in a
//  loop says nothing about which row broke.
static void
s_run_cases (const s_case_t *cases, size_t count)
{
    size_t failed = 0;
    for (size_t i = 0; i < count; i++) {
        bool got = glob_match (cases[i].pattern, cases[i].path);
        if (got != cases[i].expect) {
            printf ("  mismatch: glob_match (\"%s\", \"%s\") = %s, expected %s\n",
                    cases[i].pattern, cases[i].path, got ? "true" : "false",
                    cases[i].expect ? "true" : "false");
            failed++;
        }
    }
    assert_int_equal (failed, 0);
}

#define RUN_CASES(cases) s_run_cases (cases, sizeof (cases) / sizeof (cases[0]))

static void
test_globstar_spec (void **state)
{
    static const s_case_t cases[] = {
        { "spec/**/*_spec.rb", "spec/a_spec.rb", true },
        { "spec/**/*_spec.rb", "spec/x/a_spec.rb", true },
        { "spec/**/*_spec.rb", "spec/x/y/a_spec.rb", true },
        { "spec/**/*_spec.rb", "spec/x/y/z/w/_spec.rb", true },
        { "spec/**/*_spec.rb", "spec/a_spec.rbx", false },
        { "spec/**/*_spec.rb", "specs/a_spec.rb", false },
        { "spec/**/*_spec.rb", "spec/a_spec.rb/x", false },
        { "spec/**/*_spec.rb", "other/spec/a_spec.rb", false },
        { "spec/**/*_spec.rb", "spec/a_test.rb", false },
        { "spec/**/*_spec.rb", "spec", false },
        { "tests/**/test_*.py", "tests/test_a.py", true },
        { "tests/**/test_*.py", "tests/unit/db/test_conn.py", true },
        { "tests/**/test_*.py", "tests/unit/db/conn_test.py", false },
    };
    RUN_CASES (cases);
}

static void
test_globstar_leading (void **state)
{
    static const s_case_t cases[] = {
        { "**/*.py", "a.py", true },
        { "**/*.py", "a/b/c.py", true },
        { "**/*.py", "a/b/c.pyc", false },
        { "**/*.py", "a/b.py/c", false },
        { "**/x", "x", true },
        { "**/x", "a/x", true },
        { "**/x", "a/b/x", true },
        { "**/x", "a/bx", false },
        { "**/x", "x/a", false },
        { "**", "", true },
        { "**", "a", true },
        { "**", "a/b/c", true },
    };
    RUN_CASES (cases);
}

static void
test_globstar_middle_and_trailing (void **state)
{
    static const s_case_t cases[] = {
        { "a/**/b", "a/b", true },
        { "a/**/b", "a/x/b", true },
        { "a/**/b", "a/x/y/b", true },
        { "a/**/b", "a/x/y/bb", false },
        { "a/**/b", "b", false },
        { "a/**/b/**/c", "a/b/c", true },
        { "a/**/b/**/c", "a/1/b/2/3/c", true },
        { "a/**/b/**/c", "a/b/b/b/c", true },
        { "a/**/b/**/c", "a/c/b", false },
        { "a/**", "a/b", true },
        { "a/**", "a/b/c", true },
        //  Documented choice: "**" is zero or more whole segments, so
        //  "a/**" matches "a" itself (as bash's globstar and Python's
        //  pathlib do; .gitignore would not).
        { "a/**", "a", true },
        { "a/**", "ab", false },
        { "a/**", "b/a", false },
        //  "**" that is not a whole segment acts as '*'.
        { "a**", "abc", true },
        { "a**", "a/b", false },
        { "**b", "ab", true },
        { "**b", "a/b", false },
        { "a/b**/c", "a/bxx/c", true },
        { "a/b**/c", "a/b/x/c", false },
        //  Neighbouring globstars are the same as one.
        { "a/**/**/b", "a/b", true },
        { "a/**/**/b", "a/x/y/z/b", true },
    };
    RUN_CASES (cases);
}

static void
test_star_and_question (void **state)
{
    static const s_case_t cases[] = {
        { "*", "abc", true },
        { "*", "", true },
        { "*", "a/b", false },
        { "*.rb", "x.rb", true },
        { "*.rb", "dir/x.rb", false },
        { "a/*", "a/b", true },
        { "a/*", "a/b/c", false },
        { "*/c", "b/c", true },
        { "*/c", "a/b/c", false },
        { "a*c", "ac", true },
        { "a*c", "abbbc", true },
        { "a*c", "abbbcd", false },
        { "a*c", "ab/c", false },
        { "a*b*c", "aXbYc", true },
        { "a*b*c", "abcabc", true },
        { "a*b*c", "acb", false },
        //  A leading dot is not special.
        { "*", ".hidden", true },
        { "**/*.rb", ".git/x.rb", true },
        { "?", "a", true },
        { "?", "", false },
        { "?", "ab", false },
        { "?", "/", false },
        { "a?c", "abc", true },
        { "a?c", "a/c", false },
        { "???", "abc", true },
        { "???", "ab", false },
        { "test_?.py", "test_1.py", true },
        { "test_?.py", "test_12.py", false },
        { "abc", "abc", true },
        { "abc", "abd", false },
        { "abc", "ab", false },
        { "abc", "abcd", false },
        { "", "", true },
        { "", "a", false },
    };
    RUN_CASES (cases);
}

static void
test_brackets (void **state)
{
    static const s_case_t cases[] = {
        { "[abc]", "a", true },
        { "[abc]", "c", true },
        { "[abc]", "d", false },
        { "[abc]", "", false },
        { "[abc]", "ab", false },
        { "[a-z]", "m", true },
        { "[a-z]", "a", true },
        { "[a-z]", "z", true },
        { "[a-z]", "A", false },
        { "[a-z0-9_]", "_", true },
        { "[a-z0-9_]", "5", true },
        { "[a-z0-9_]", "-", false },
        { "[!a-z]", "A", true },
        { "[!a-z]", "a", false },
        { "[^a-z]", "5", true },
        { "[^a-z]", "q", false },
        { "[!abc]", "d", true },
        { "[!abc]", "b", false },
        //  ']' first in the set is a member; '-' first or last is literal.
        { "[]a]", "]", true },
        { "[]a]", "a", true },
        { "[]a]", "b", false },
        { "[!]]", "]", false },
        { "[!]]", "x", true },
        { "[-a]", "-", true },
        { "[a-]", "-", true },
        { "[a-]", "b", false },
        //  A backwards range matches nothing.
        { "[z-a]", "m", false },
        { "[z-a]", "z", false },
        //  Escapes inside a set.
        { "[\\]]", "]", true },
        { "[a\\-z]", "-", true },
        { "[a\\-z]", "m", false },
        //  No closing ']': the '[' is literal.
        { "[abc", "[abc", true },
        { "[abc", "a", false },
        { "a[", "a[", true },
        //  Never '/', not even negated or through a range that spans it.
        { "a[!x]b", "a/b", false },
        { "a[.-0]b", "a/b", false },
        { "a[.-0]b", "a.b", true },
        { "test_[0-9][0-9].py", "test_42.py", true },
        { "test_[0-9][0-9].py", "test_4x.py", false },
        { "spec/[mc]*/*_spec.rb", "spec/models/user_spec.rb", true },
        { "spec/[mc]*/*_spec.rb", "spec/views/user_spec.rb", false },
        //  Bytes above 0x7f compare as unsigned.
        { "[\xc3][\xa9]", "\xc3\xa9", true },
        { "[a-z]", "\xe9", false },
        { "[!a-z]", "\xe9", true },
    };
    RUN_CASES (cases);
}

static void
test_escapes (void **state)
{
    static const s_case_t cases[] = {
        { "\\*", "*", true },
        { "\\*", "a", false },
        { "\\?", "?", true },
        { "\\?", "a", false },
        { "\\[a]", "[a]", true },
        { "\\[a]", "a", false },
        { "a\\\\b", "a\\b", true },
        { "\\a", "a", true },
        //  An escaped star segment is not a globstar.
        { "\\*\\*/x", "**/x", true },
        { "\\*\\*/x", "a/x", false },
        { "*\\*", "ab*", true },
        { "*\\*", "ab", false },
        //  A trailing lone backslash stands for itself.
        { "a\\", "a\\", true },
        { "a\\", "a", false },
        //  "\/" is a separator like '/'.
        { "a\\/b", "a/b", true },
        { "a\\/b", "a\\/b", false },
        //  "\\/" is an escaped backslash, then a separator.
        { "a\\\\/b", "a\\/b", true },
    };
    RUN_CASES (cases);
}

static void
test_dot_slash (void **state)
{
    static const s_case_t cases[] = {
        { "./spec/**/*_spec.rb", "spec/a_spec.rb", true },
        { "spec/**/*_spec.rb", "./spec/a_spec.rb", true },
        { "./spec/**/*_spec.rb", "./spec/x/a_spec.rb", true },
        { "././a/*", "./a/b", true },
        { "./*.py", "a.py", true },
        { "./*.py", "./a.py", true },
        { "./*.py", "b/a.py", false },
        //  Only a leading "./" goes; one further in is a segment ".".
        { "a/./b", "a/./b", true },
        { "a/b", "a/./b", false },
        //  "../" is not "./".
        { "../a", "a", false },
        { ".*", ".x", true },
    };
    RUN_CASES (cases);
}

static void
test_empty_segments (void **state)
{
    static const s_case_t cases[] = {
        { "a//b", "a//b", true },
        { "a//b", "a/b", false },
        { "a/*/b", "a//b", true },
        { "a/**/b", "a//b", true },
        { "a/", "a/", true },
        { "a/", "a", false },
    };
    RUN_CASES (cases);
}

//  Polynomial time: pathological inputs that make a backtracking matcher
//  explode. Each must finish well inside the deadline; a matcher that went
//  exponential on them would take longer than the age of the universe, so a
//  generous deadline (sanitizers slow everything) cannot hide that.
#define DEADLINE_MS 2000

static void
test_pathological_globstars (void **state)
{
    //  A deep path with no "x" anywhere.
    char path[4096];
    size_t size = 0;
    for (int i = 0; i < 400; i++) {
        memcpy (path + size, "ab/", 3);
        size += 3;
    }
    memcpy (path + size, "end", 4);

    int64_t start = util_mono_ms ();
    assert_false (glob_match ("**/**/**/**/**/**/**/**/x", path));
    assert_true (glob_match ("**/**/**/**/**/**/**/**/end", path));
    assert_true (glob_match ("**/ab/**/ab/**/ab/**/ab/**/end", path));
    assert_false (glob_match ("**/ab/**/ab/**/ab/**/ab/**/x", path));

    //  Many globstars, each followed by a segment that matches everywhere:
    //  every (pattern segment, path segment) pair is live.
    char pattern[4096];
    size = 0;
    for (int i = 0; i < 200; i++) {
        memcpy (pattern + size, "**/*/", 5);
        size += 5;
    }
    memcpy (pattern + size, "x", 2);
    assert_false (glob_match (pattern, path));
    int64_t elapsed = util_mono_ms () - start;
    printf ("pathological globstars: %lld ms\n", (long long) elapsed);
    assert_true (elapsed < DEADLINE_MS);
}

static void
test_pathological_stars (void **state)
{
    int64_t start = util_mono_ms ();
    assert_false (glob_match ("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_true (glob_match ("*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"));
    assert_false (glob_match ("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

    //  Long segment, many stars: O(pattern x segment) stays small.
    char text[2001];
    memset (text, 'a', 2000);
    text[2000] = 0;
    char pattern[401];
    for (int i = 0; i < 200; i++) {
        pattern[2 * i] = '*';
        pattern[2 * i + 1] = 'a';
    }
    pattern[399] = 'b';
    pattern[400] = 0;
    assert_false (glob_match (pattern, text));
    pattern[399] = 'a';
    assert_true (glob_match (pattern, text));

    //  The same shape spread across segments, with globstars.
    assert_false (glob_match ("**/*a*a*a*a*a*a*b/**/*a*a*a*a*a*a*b",
                              "aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa/"
                              "aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa/aaaaaaaaaaaaaaaa"));
    int64_t elapsed = util_mono_ms () - start;
    printf ("pathological stars: %lld ms\n", (long long) elapsed);
    assert_true (elapsed < DEADLINE_MS);
}

//  --------------------------------------------------------------------------
//  Differential test against an independent reference: each random pattern
//  is built as a list of segments and translated straight into a POSIX
//  extended regex (glibc's engine), without going through globmatch's
//  parser. Paths are drawn partly from the pattern (so about half match)
//  and partly at random, then sometimes mutated.

static size_t
s_pick (test_rng_t *rng, size_t count)
{
    return (size_t) (test_rng_next (rng) % count);
}

//  Tokens of an ordinary segment, with their glob text and regex.
typedef enum { TOK_A, TOK_B, TOK_STAR, TOK_QUESTION, TOK_SET, TOK_NOT_A } s_token_t;

static const char *s_token_glob[] = { "a", "b", "*", "?", "[ab]", "[!a]" };
static const char *s_token_regex[] = { "a", "b", "[^/]*", "[^/]", "[ab]", "[^a/]" };

#define MAX_SEGMENTS 5
#define MAX_TOKENS 4

typedef struct {
    bool globstar;                  //  the segment is "**"
    size_t tokens;                  //  tokens in an ordinary segment
    s_token_t token[MAX_TOKENS];    //  the tokens
} s_gen_segment_t;

static void
s_append (char *buffer, size_t size, const char *text)
{
    size_t used = strlen (buffer);
    assert_true (used + strlen (text) < size);
    strcpy (buffer + used, text);
}

static void
s_reference_regex (const s_gen_segment_t *segs, size_t count, char *regex, size_t size)
{
    regex[0] = 0;
    s_append (regex, size, "^");
    for (size_t i = 0; i < count; i++) {
        if (segs[i].globstar) {
            //  Zero or more whole segments, each with its separator on
            //  the side that has a neighbour.
            if (i == 0 && count == 1)
                s_append (regex, size, ".*");
            else
            if (i == 0)
                s_append (regex, size, "([^/]*/)*");
            else
                s_append (regex, size, "(/[^/]*)*");
            continue;
        }
        if (i > 0 && !segs[i - 1].globstar)
            s_append (regex, size, "/");
        else
        if (i > 1 && segs[i - 1].globstar)
            s_append (regex, size, "/");
        for (size_t t = 0; t < segs[i].tokens; t++)
            s_append (regex, size, s_token_regex[segs[i].token[t]]);
    }
    s_append (regex, size, "$");
}

static void
s_random_pattern (test_rng_t *rng, s_gen_segment_t *segs, size_t *count_p)
{
    size_t count = 1 + s_pick (rng, MAX_SEGMENTS);
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        s_gen_segment_t seg = { false, 0, { 0 } };
        if (s_pick (rng, 4) == 0)
            seg.globstar = true;
        else {
            seg.tokens = s_pick (rng, MAX_TOKENS + 1);
            for (size_t t = 0; t < seg.tokens; t++)
                seg.token[t] = (s_token_t) s_pick (rng, 6);
            //  Two stars alone would spell "**", a globstar: make it one.
            if (seg.tokens == 2 && seg.token[0] == TOK_STAR && seg.token[1] == TOK_STAR)
                seg.tokens = 1;
        }
        //  Neighbouring globstars mean the same as one; keep one so the
        //  reference's regex stays simple.
        if (seg.globstar && n > 0 && segs[n - 1].globstar)
            continue;
        segs[n++] = seg;
    }
    *count_p = n;
}

static void
s_pattern_text (const s_gen_segment_t *segs, size_t count, char *text, size_t size)
{
    text[0] = 0;
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            s_append (text, size, "/");
        if (segs[i].globstar)
            s_append (text, size, "**");
        else {
            for (size_t t = 0; t < segs[i].tokens; t++)
                s_append (text, size, s_token_glob[segs[i].token[t]]);
        }
    }
}

static void
s_random_segment (test_rng_t *rng, char *path, size_t size)
{
    size_t chars = s_pick (rng, 4);
    for (size_t c = 0; c < chars; c++)
        s_append (path, size, s_pick (rng, 2) ? "a" : "b");
}

//  A path the pattern should match (before any mutation).
static void
s_instantiate (test_rng_t *rng, const s_gen_segment_t *segs, size_t count,
               char *path, size_t size)
{
    path[0] = 0;
    bool first = true;
    for (size_t i = 0; i < count; i++) {
        if (segs[i].globstar) {
            size_t many = s_pick (rng, 3);
            for (size_t k = 0; k < many; k++) {
                if (!first)
                    s_append (path, size, "/");
                first = false;
                s_random_segment (rng, path, size);
            }
            continue;
        }
        if (!first)
            s_append (path, size, "/");
        first = false;
        for (size_t t = 0; t < segs[i].tokens; t++) {
            switch (segs[i].token[t]) {
                case TOK_A: s_append (path, size, "a"); break;
                case TOK_B: s_append (path, size, "b"); break;
                case TOK_NOT_A: s_append (path, size, "b"); break;
                case TOK_QUESTION:
                case TOK_SET: s_append (path, size, s_pick (rng, 2) ? "a" : "b"); break;
                case TOK_STAR: {
                    size_t chars = s_pick (rng, 3);
                    for (size_t c = 0; c < chars; c++)
                        s_append (path, size, s_pick (rng, 2) ? "a" : "b");
                    break;
                }
            }
        }
    }
}

#define DIFF_CASES 6000

static void
test_differential_regex (void **state)
{
    test_rng_t rng = { 2024 };
    size_t matched = 0;
    size_t failed = 0;
    for (size_t n = 0; n < DIFF_CASES; n++) {
        s_gen_segment_t segs[MAX_SEGMENTS];
        size_t count = 0;
        s_random_pattern (&rng, segs, &count);
        char pattern[128];
        char regex[512];
        char path[128];
        s_pattern_text (segs, count, pattern, sizeof (pattern));
        s_reference_regex (segs, count, regex, sizeof (regex));
        if (s_pick (&rng, 2))
            s_instantiate (&rng, segs, count, path, sizeof (path));
        else {
            path[0] = 0;
            size_t parts = 1 + s_pick (&rng, 4);
            for (size_t k = 0; k < parts; k++) {
                if (k > 0)
                    s_append (path, sizeof (path), "/");
                s_random_segment (&rng, path, sizeof (path));
            }
        }
        //  Mutate one byte sometimes: flip a letter, or a letter to '/'.
        size_t length = strlen (path);
        if (length > 0 && s_pick (&rng, 4) == 0) {
            size_t at = s_pick (&rng, length);
            if (path[at] != '/')
                path[at] = s_pick (&rng, 3) == 0 ? '/' : (path[at] == 'a' ? 'b' : 'a');
        }
        regex_t compiled;
        assert_int_equal (regcomp (&compiled, regex, REG_EXTENDED | REG_NOSUB), 0);
        bool expect = regexec (&compiled, path, 0, NULL, 0) == 0;
        regfree (&compiled);

        //  A leading "./" on either side changes nothing.
        char dotted_pattern[140] = "./";
        char dotted_path[140] = "./";
        s_append (dotted_pattern, sizeof (dotted_pattern), pattern);
        s_append (dotted_path, sizeof (dotted_path), path);
        const char *use_pattern = s_pick (&rng, 4) == 0 ? dotted_pattern : pattern;
        const char *use_path = s_pick (&rng, 4) == 0 ? dotted_path : path;

        bool got = glob_match (use_pattern, use_path);
        if (got != expect) {
            if (failed < 10)
                printf ("  differs: glob_match (\"%s\", \"%s\") = %d, regex %s says %d\n",
                        use_pattern, use_path, got, regex, expect);
            failed++;
        }
        if (expect)
            matched++;
    }
    printf ("differential: %d cases, %zu match\n", DIFF_CASES, matched);
    assert_int_equal (failed, 0);
    //  The generator must exercise both answers, or the test proves little.
    assert_true (matched > DIFF_CASES / 5);
    assert_true (matched < DIFF_CASES * 4 / 5);
}

//  --------------------------------------------------------------------------
//  Brace alternation

static void
test_braces_knapsack_default (void **state)
{
    //  Knapsack Pro's default pattern, a Ruby Dir.glob idiom: "**{,/*/**}"
    //  is "**" or "**/*/**" (the second lets Ruby follow one symlinked
    //  folder; here both mean any depth).
    static const s_case_t cases[] = {
        { "spec/**{,/*/**}/*_spec.rb", "spec/a_spec.rb", true },
        { "spec/**{,/*/**}/*_spec.rb", "spec/models/user_spec.rb", true },
        { "spec/**{,/*/**}/*_spec.rb", "spec/models/deep/x_spec.rb", true },
        { "spec/**{,/*/**}/*_spec.rb", "spec/a/b/c/d/x_spec.rb", true },
        { "spec/**{,/*/**}/*_spec.rb", "./spec/models/user_spec.rb", true },
        { "spec/**{,/*/**}/*_spec.rb", "spec/models/user.rb", false },
        { "spec/**{,/*/**}/*_spec.rb", "test/models/user_spec.rb", false },
        { "spec/**{,/*/**}/*_spec.rb", "spec/a_spec.rb/x", false },
        { "spec/**{,/*/**}/*_spec.rb", "specs/a_spec.rb", false },
        //  From Knapsack Pro's documentation.
        { "{spec,engines/*/spec}/**/*_spec.rb", "spec/a_spec.rb", true },
        { "{spec,engines/*/spec}/**/*_spec.rb", "engines/billing/spec/models/a_spec.rb", true },
        { "{spec,engines/*/spec}/**/*_spec.rb", "engines/spec/a_spec.rb", false },
        { "{spec,engines/*/spec}/**/*_spec.rb", "lib/spec/a_spec.rb", false },
        { "spec/controllers/**{,/*/**}/*_spec.rb", "spec/controllers/admin/x_spec.rb", true },
        { "spec/controllers/**{,/*/**}/*_spec.rb", "spec/models/x_spec.rb", false },
        { "{spec/models/user_spec.rb,spec/controllers/**/*_spec.rb}",
          "spec/models/user_spec.rb", true },
        { "{spec/models/user_spec.rb,spec/controllers/**/*_spec.rb}",
          "spec/controllers/a/b_spec.rb", true },
        { "{spec/models/user_spec.rb,spec/controllers/**/*_spec.rb}",
          "spec/models/other_spec.rb", false },
    };
    RUN_CASES (cases);
}

static void
test_braces (void **state)
{
    static const s_case_t cases[] = {
        { "{a,b}", "a", true },
        { "{a,b}", "b", true },
        { "{a,b}", "c", false },
        { "{a,b}", "ab", false },
        { "x{a,b}y", "xay", true },
        { "x{a,b}y", "xby", true },
        { "x{a,b}y", "xy", false },
        //  Empty alternatives.
        { "x{,a}y", "xy", true },
        { "x{,a}y", "xay", true },
        { "x{a,}y", "xy", true },
        { "x{}y", "xy", true },
        { "x{,}y", "xy", true },
        //  One alternative, as Ruby: "{a}" is "a".
        { "{a}", "a", true },
        { "{a}", "{a}", false },
        //  Nested groups.
        { "{a,b{c,d}}", "a", true },
        { "{a,b{c,d}}", "bc", true },
        { "{a,b{c,d}}", "bd", true },
        { "{a,b{c,d}}", "b", false },
        { "{a,{b,{c,d}}}x", "dx", true },
        { "{a,{b,{c,d}}}x", "ex", false },
        //  Several groups multiply.
        { "{a,b}{c,d}", "ad", true },
        { "{a,b}{c,d}", "bc", true },
        { "{a,b}{c,d}", "ab", false },
        //  Wildcards, globstars and separators inside alternatives.
        { "{*.rb,*.py}", "x.py", true },
        { "{*.rb,*.py}", "x.js", false },
        { "{*.rb,*.py}", "d/x.py", false },
        { "src/{**/,}*.c", "src/a.c", true },
        { "src/{**/,}*.c", "src/a/b/c.c", true },
        { "{a/b,c}/x", "a/b/x", true },
        { "{a/b,c}/x", "c/x", true },
        { "{a/b,c}/x", "a/x", false },
        { "{[ab],c?}", "b", true },
        { "{[ab],c?}", "cz", true },
        { "{[ab],c?}", "d", false },
        //  A '{' without a '}' is literal; so are a stray '}' and a ','
        //  outside a group.
        { "a{b", "a{b", true },
        { "a{b,c", "a{b,c", true },
        { "a}b", "a}b", true },
        { "a,b", "a,b", true },
        { "a,b", "a", false },
        //  The innermost '{' before a '}' is its partner: the outer one
        //  here is literal.
        { "{a{b,c}", "{ab", true },
        { "{a{b,c}", "{ac", true },
        { "{a{b,c}", "ab", false },
        //  Escapes: a literal brace or comma.
        { "\\{a,b}", "{a,b}", true },
        { "\\{a,b}", "a", false },
        { "{a\\,b,c}", "a,b", true },
        { "{a\\,b,c}", "c", true },
        { "{a\\,b,c}", "b", false },
        { "{a,b\\}", "{a,b}", true },
        { "{a\\}b,c}", "a}b", true },
        //  A leading "./" in an expansion is ignored like one in a pattern.
        { "{./a,b}/x", "a/x", true },
    };
    RUN_CASES (cases);
}

//  Glob text for a pattern with braces against the same written out.
static void
test_braces_same_as_alternatives (void **state)
{
    static const struct {
        const char *pattern;          //  with braces
        const char *expansions[5];    //  what it means, written out
    } cases[] = {
        { "spec/**{,/*/**}/*_spec.rb", { "spec/**/*_spec.rb", "spec/**/*/**/*_spec.rb" } },
        { "{a,b}/{c,d*}", { "a/c", "a/d*", "b/c", "b/d*" } },
        { "x/{y,z/{w,}}/q", { "x/y/q", "x/z/w/q", "x/z//q" } },
    };
    static const char *paths[] = {
        "spec/a_spec.rb", "spec/b/a_spec.rb", "spec/b/c/d/a_spec.rb", "spec/a.rb",
        "a/c", "a/dd", "b/d", "b/c", "c/c", "a/d/x", "x/y/q", "x/z/w/q", "x/z//q",
        "x/z/q", "x/w/q", "", "a", "spec",
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
            bool expect = false;
            for (size_t e = 0; e < 5 && cases[c].expansions[e]; e++)
                expect = expect || glob_match (cases[c].expansions[e], paths[p]);
            bool got = glob_match (cases[c].pattern, paths[p]);
            if (got != expect)
                printf ("  glob_match (\"%s\", \"%s\") = %d, its expansions say %d\n",
                        cases[c].pattern, paths[p], got, expect);
            assert_int_equal (got, expect);
        }
    }
}

static void
test_braces_bounds (void **state)
{
    char why[512] = "";
    assert_int_equal (glob_check ("spec/**{,/*/**}/*_spec.rb", why, sizeof why), 0);
    assert_int_equal (glob_check ("no braces at all", why, sizeof why), 0);
    //  2^8 = 256 expansions: at the bound.
    const char *at_bound = "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}";
    assert_int_equal (glob_check (at_bound, why, sizeof why), 0);
    assert_true (glob_match (at_bound, "abababab"));
    assert_false (glob_match (at_bound, "abababac"));
    //  2^9: over it. Refused with a reason, and it matches nothing.
    const char *over = "{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}";
    assert_int_equal (glob_check (over, why, sizeof why), -1);
    printf ("refused: %s\n", why);
    assert_non_null (strstr (why, "more than 256 alternatives"));
    assert_false (glob_match (over, "aaaaaaaaa"));
    //  Nested growth is counted too.
    assert_int_equal (glob_check ("{{a,b,c,d},{e,f,g,h}}{{a,b,c,d},{e,f,g,h}}"
                                  "{{a,b,c,d},{e,f,g,h}}", why, sizeof why), -1);
    //  Too many groups, even of one alternative each.
    char many[512] = "";
    for (int i = 0; i < GLOB_MAX_BRACE_GROUPS + 1; i++)
        strcat (many, "{a}");
    assert_int_equal (glob_check (many, why, sizeof why), -1);
    assert_non_null (strstr (why, "groups"));
    assert_false (glob_match (many, "a"));
    //  Deep nesting within the bounds stays quick and right.
    char deep[512] = "";
    for (int i = 0; i < GLOB_MAX_BRACE_GROUPS; i++)
        strcat (deep, "{x,");
    strcat (deep, "y");
    for (int i = 0; i < GLOB_MAX_BRACE_GROUPS; i++)
        strcat (deep, "}");
    assert_int_equal (glob_check (deep, why, sizeof why), 0);
    assert_true (glob_match (deep, "x"));
    assert_true (glob_match (deep, "y"));
    assert_false (glob_match (deep, "z"));
    //  Unmatched braces make no groups and cost nothing.
    char open[4096];
    memset (open, '{', sizeof open - 1);
    open[sizeof open - 1] = 0;
    assert_int_equal (glob_check (open, why, sizeof why), 0);
    assert_true (glob_match (open, open));
}

static void
test_braces_pathological (void **state)
{
    //  The worst a pattern within the bounds can do: 256 expansions, each
    //  a pathological globstar pattern, against a deep path.
    char path[4096];
    size_t size = 0;
    for (int i = 0; i < 200; i++) {
        memcpy (path + size, "ab/", 3);
        size += 3;
    }
    memcpy (path + size, "end", 4);
    char pattern[1024] = "";
    for (int i = 0; i < 8; i++)
        strcat (pattern, "{**/*,**}/");
    strcat (pattern, "x");
    char why[512];
    assert_int_equal (glob_check (pattern, why, sizeof why), 0);
    int64_t start = util_mono_ms ();
    assert_false (glob_match (pattern, path));
    int64_t elapsed = util_mono_ms () - start;
    printf ("pathological braces: %lld ms\n", (long long) elapsed);
    assert_true (elapsed < DEADLINE_MS);
}

static void
s_check_base (const char *pattern, const char *expected)
{
    char *base = glob_base_dir (pattern);
    if (strcmp (base, expected) != 0)
        printf ("  glob_base_dir (\"%s\") = \"%s\", expected \"%s\"\n",
                pattern, base, expected);
    assert_string_equal (base, expected);
    free (base);
}

static void
test_base_dir (void **state)
{
    s_check_base ("spec/models/**/*.rb", "spec/models");
    s_check_base ("spec/**/*_spec.rb", "spec");
    s_check_base ("**/*.py", ".");
    s_check_base ("*.rb", ".");
    s_check_base ("tests/unit_*.py", "tests");
    s_check_base ("tests/**", "tests");
    s_check_base ("a/b/c/*/d/*.py", "a/b/c");
    s_check_base ("a/b?/c/x.py", "a");
    s_check_base ("a/[bc]/x.py", "a");
    //  The last segment names the files, never the folder to walk.
    s_check_base ("spec/a_spec.rb", "spec");
    s_check_base ("spec/models/", "spec/models");
    s_check_base ("a_spec.rb", ".");
    s_check_base ("", ".");
    //  Leading "./" goes.
    s_check_base ("./spec/**/*.rb", "spec");
    s_check_base ("./*.rb", ".");
    //  Escapes are literal and undone in the folder's name.
    s_check_base ("a\\*b/c/*.rb", "a*b/c");
    s_check_base ("dir\\[1\\]/*.rb", "dir[1]");
    s_check_base ("a\\/b/*.rb", "a/b");
    //  A wildcard in a folder stops the base there, even a lone '['.
    s_check_base ("a/b[/c/*.rb", "a");
    //  Absolute patterns keep their root.
    s_check_base ("/srv/app/**/*.rb", "/srv/app");
    s_check_base ("/*.rb", "/");
    //  A brace is a wildcard: its group may hold '/' too.
    s_check_base ("spec/**{,/*/**}/*_spec.rb", "spec");
    s_check_base ("{spec,engines/*/spec}/**/*_spec.rb", ".");
    s_check_base ("spec/{models,controllers}/*_spec.rb", "spec");
    s_check_base ("spec/{a,b/c}/x/*.rb", "spec");
    s_check_base ("spec/a{b/x.rb", "spec");
    s_check_base ("spec/a\\{b/x.rb", "spec/a{b");
    s_check_base ("spec/a}b/x.rb", "spec/a}b");
}

static void
test_base_dir_consistent (void **state)
{
    //  Every path a pattern matches lies under its base dir, which is what
    //  lets discovery start its walk there.
    static const s_case_t cases[] = {
        { "spec/models/**/*.rb", "spec/models/user.rb", true },
        { "spec/models/**/*.rb", "spec/models/a/b/user.rb", true },
        { "spec/a_spec.rb", "spec/a_spec.rb", true },
        { "tests/unit_*.py", "tests/unit_db.py", true },
        { "a/**", "a/b/c", true },
        { "spec/**{,/*/**}/*_spec.rb", "spec/models/deep/x_spec.rb", true },
        { "spec/{a,b/c}/x/*.rb", "spec/b/c/x/y.rb", true },
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        assert_true (glob_match (cases[i].pattern, cases[i].path));
        char *base = glob_base_dir (cases[i].pattern);
        size_t size = strlen (base);
        assert_true (strcmp (base, ".") == 0
                     || (strncmp (cases[i].path, base, size) == 0
                         && cases[i].path[size] == '/'));
        free (base);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_globstar_spec),
        cmocka_unit_test (test_globstar_leading),
        cmocka_unit_test (test_globstar_middle_and_trailing),
        cmocka_unit_test (test_star_and_question),
        cmocka_unit_test (test_brackets),
        cmocka_unit_test (test_escapes),
        cmocka_unit_test (test_dot_slash),
        cmocka_unit_test (test_empty_segments),
        cmocka_unit_test (test_pathological_globstars),
        cmocka_unit_test (test_pathological_stars),
        cmocka_unit_test (test_differential_regex),
        cmocka_unit_test (test_braces_knapsack_default),
        cmocka_unit_test (test_braces),
        cmocka_unit_test (test_braces_same_as_alternatives),
        cmocka_unit_test (test_braces_bounds),
        cmocka_unit_test (test_braces_pathological),
        cmocka_unit_test (test_base_dir),
        cmocka_unit_test (test_base_dir_consistent),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
