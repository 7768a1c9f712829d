//  globmatch.c: see globmatch.h.
//
//  Both strings are cut into segments at '/'. A pattern segment that is
//  exactly "**" matches zero or more whole path segments; any other pattern
//  segment matches exactly one path segment. Which segments line up is
//  decided by a dynamic programme over (pattern segment, path segment)
//  pairs, one row at a time, so "**/**/**/x" costs O(segments^2) instead
//  of the exponential backtracking a recursive matcher does on it.
//
//  Within one segment only '*' has a variable length, so the classic
//  matcher that remembers just the last '*' and retries from one byte
//  further is exact and costs at most O(pattern x segment) (Russ Cox,
//  "Glob Matching Can Be Simple And Fast Too"). Over all pairs the total is
//  O(|pattern| x |path|).
//
//  Choices the header leaves open:
//    - "a/**" matches "a" itself, as "zero or more whole segments" says
//      (git's .gitignore would not; bash's globstar and Python's pathlib
//      do). For discovery this is harmless: "a" is usually the folder.
//    - A leading '.' is not special: "*" matches ".hidden".
//    - "\/" is a separator, like '/': escaping '/' cannot make it part of
//      a segment, since no path segment holds one.
//    - '/' always ends a segment, also inside brackets: "[a/b]" is the
//      segments "[a" and "b]", whose '[' has no ']' and so is literal.
//    - A '[' with no closing ']' is literal; so is a trailing lone '\'.
//      "[]a]" holds ']' and 'a'; a range written backwards ("[z-a]")
//      matches nothing.
//    - Empty segments are kept: "a//b" has three, and matches only a
//      pattern with the same empty segment (or "**" there).
//
//  Braces are expanded first, as text, into at most GLOB_MAX_ALTERNATIVES
//  patterns without braces (Ruby's Dir.glob and bash expand them the same
//  way, before any other wildcard), and the path matches if one of them
//  does. Expanding is what lets a group hold '/' and "**" ("**{,/*/**}")
//  without the segment matcher knowing about groups; the bound keeps the
//  cost a constant factor over one pattern. Braces are paired like
//  parentheses, escapes skipped: a '}' closes the nearest '{' before it
//  still open, and a '{' left open is literal. Brackets do not hide
//  braces ("[{]" holds a literal '{' only because no '}' follows it).
#include "globmatch.h"
#include "util.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;       //  first byte of the segment (borrowed)
    size_t size;            //  bytes in it, no '/' and no trailing NUL
} s_segment_t;

//  Skip every leading "./": "./a", "././a" and "a" are the same path.
static const char *
s_skip_dot_slash (const char *text)
{
    while (text[0] == '.' && text[1] == '/')
        text += 2;
    return text;
}

//  Cut text at '/' (and at "\/" when escapes is set, for patterns) into a
//  malloc'd array of segments; *count_p gets their number (at least 1, the
//  empty string is one empty segment). Segments borrow from text.
static s_segment_t *
s_split (const char *text, bool escapes, size_t *count_p)
{
    size_t count = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '/')
            count++;
    }
    s_segment_t *segments = util_malloc (count * sizeof (s_segment_t));
    size_t n = 0;
    const char *start = text;
    const char *p = text;
    while (*p) {
        if (escapes && p[0] == '\\' && p[1] != 0) {
            if (p[1] == '/') {
                segments[n].text = start;
                segments[n].size = (size_t) (p - start);
                n++;
                start = p + 2;
            }
            //  Skip the escaped byte either way: "\*" is not a wildcard
            //  and "\\" does not escape what follows it.
            p += 2;
            continue;
        }
        if (*p == '/') {
            segments[n].text = start;
            segments[n].size = (size_t) (p - start);
            n++;
            start = p + 1;
        }
        p++;
    }
    segments[n].text = start;
    segments[n].size = (size_t) (p - start);
    n++;
    //  "\/" counts one '/' and gives one cut, so n never passes count.
    assert (n <= count);
    *count_p = n;
    return segments;
}

//  Read one possibly escaped byte of a bracket set at p[*i] and advance.
static unsigned char
s_set_byte (const char *p, size_t size, size_t *i)
{
    if (p[*i] == '\\' && *i + 1 < size) {
        *i += 2;
        return (unsigned char) p[*i - 1];
    }
    *i += 1;
    return (unsigned char) p[*i - 1];
}

//  Match the single-byte token at the start of p (not '*') against byte c.
//  Sets *used to the token's length in p. Returns true if c matches.
static bool
s_match_token (const char *p, size_t size, unsigned char c, size_t *used)
{
    assert (size > 0 && p[0] != '*');
    if (p[0] == '?') {
        *used = 1;
        return c != '/';
    }
    if (p[0] == '\\') {
        //  A lone '\' at the end of the segment stands for itself.
        if (size == 1) {
            *used = 1;
            return c == '\\';
        }
        *used = 2;
        return c == (unsigned char) p[1];
    }
    if (p[0] == '[') {
        size_t i = 1;
        bool negate = false;
        if (i < size && (p[i] == '!' || p[i] == '^')) {
            negate = true;
            i++;
        }
        bool found = false;
        bool first = true;
        bool closed = false;
        while (i < size) {
            //  A ']' first in the set is a member, not the end.
            if (p[i] == ']' && !first) {
                closed = true;
                i++;
                break;
            }
            first = false;
            unsigned char low = s_set_byte (p, size, &i);
            unsigned char high = low;
            if (i + 1 < size && p[i] == '-' && p[i + 1] != ']') {
                i++;
                high = s_set_byte (p, size, &i);
            }
            if (c >= low && c <= high)
                found = true;
        }
        if (closed) {
            *used = i;
            return c != '/' && found != negate;
        }
        //  No closing ']': the '[' is an ordinary byte.
        *used = 1;
        return c == '[';
    }
    *used = 1;
    return c == (unsigned char) p[0];
}

//  True if the pattern segment matches the whole path segment.
static bool
s_match_segment (const s_segment_t *pattern, const s_segment_t *path)
{
    const char *p = pattern->text;
    size_t psize = pattern->size;
    const unsigned char *s = (const unsigned char *) path->text;
    size_t ssize = path->size;

    size_t pi = 0;
    size_t si = 0;
    //  Where to resume after the last '*': pattern just past it, and the
    //  path byte it would swallow next. Only the last '*' matters: any
    //  earlier one could only give up bytes the last one can take too.
    bool have_star = false;
    size_t star_pi = 0;
    size_t star_si = 0;
    while (si < ssize) {
        if (pi < psize && p[pi] == '*') {
            while (pi < psize && p[pi] == '*')
                pi++;
            if (pi == psize)
                return true;        //  a trailing '*' takes the rest
            have_star = true;
            star_pi = pi;
            star_si = si;
            continue;
        }
        if (pi < psize) {
            size_t used = 0;
            if (s_match_token (p + pi, psize - pi, s[si], &used)) {
                pi += used;
                si++;
                continue;
            }
        }
        if (!have_star)
            return false;
        star_si++;
        si = star_si;
        pi = star_pi;
    }
    while (pi < psize && p[pi] == '*')
        pi++;
    return pi == psize;
}

static bool
s_is_globstar (const s_segment_t *segment)
{
    return segment->size == 2 && segment->text[0] == '*' && segment->text[1] == '*';
}

//  True if the pattern (no braces) matches the path's segments.
static bool
s_match_segments (const char *pattern, const s_segment_t *ssegs, size_t scount)
{
    pattern = s_skip_dot_slash (pattern);
    size_t pcount = 0;
    s_segment_t *psegs = s_split (pattern, true, &pcount);

    //  next[j]: pattern segments i+1.. match path segments j..; cur[j]: the
    //  same from segment i. Row pcount: only the empty rest matches.
    bool *next = util_calloc (scount + 1, sizeof (bool));
    bool *cur = util_calloc (scount + 1, sizeof (bool));
    next[scount] = true;
    for (size_t i = pcount; i-- > 0; ) {
        if (s_is_globstar (&psegs[i])) {
            //  Zero segments (skip the "**"), or one more and stay on it.
            cur[scount] = next[scount];
            for (size_t j = scount; j-- > 0; )
                cur[j] = next[j] || cur[j + 1];
        }
        else {
            cur[scount] = false;
            for (size_t j = 0; j < scount; j++)
                cur[j] = next[j + 1] && s_match_segment (&psegs[i], &ssegs[j]);
        }
        bool *swap = next;
        next = cur;
        cur = swap;
    }
    bool matched = next[0];

    free (cur);
    free (next);
    free (psegs);
    return matched;
}

//  --------------------------------------------------------------------------
//  Brace alternation

typedef struct {
    char **items;           //  expansions (owned)
    size_t count;           //  used
    size_t alloc;           //  allocated
} s_list_t;

static void
s_list_push (s_list_t *list, char *item)
{
    if (list->count == list->alloc) {
        list->alloc = list->alloc ? list->alloc * 2 : 4;
        list->items = util_realloc (list->items, list->alloc * sizeof (char *));
    }
    list->items[list->count++] = item;
}

static void
s_list_free (s_list_t *list)
{
    for (size_t i = 0; i < list->count; i++)
        free (list->items[i]);
    free (list->items);
    memset (list, 0, sizeof *list);
}

//  Append size bytes of text to every item.
static void
s_list_append (s_list_t *list, const char *text, size_t size)
{
    if (size == 0)
        return;
    for (size_t i = 0; i < list->count; i++) {
        size_t used = strlen (list->items[i]);
        list->items[i] = util_realloc (list->items[i], used + size + 1);
        memcpy (list->items[i] + used, text, size);
        list->items[i][used + size] = 0;
    }
}

static bool
s_has_brace (const char *pattern)
{
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '\\' && p[1] != 0)
            p++;
        else
        if (*p == '{')
            return true;
    }
    return false;
}

//  Pair the braces of text like parentheses, skipping escaped bytes: for
//  each '{' with a partner, close[i] is the partner's index; every other
//  entry is 0 (never a partner's index, since its '{' comes before it).
//  Returns the number of pairs.
static size_t
s_pair_braces (const char *text, size_t size, size_t *close)
{
    size_t *open = util_malloc ((size + 1) * sizeof (size_t));
    size_t depth = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < size; i++) {
        close[i] = 0;
        if (text[i] == '\\' && i + 1 < size) {
            close[++i] = 0;
            continue;
        }
        if (text[i] == '{')
            open[depth++] = i;
        else
        if (text[i] == '}' && depth > 0) {
            close[open[--depth]] = i;
            pairs++;
        }
    }
    free (open);
    return pairs;
}

//  Expand text[start, end) into out, which must be empty. Every group in
//  that range is whole (pairs never cross a group's bounds). Returns 0, or
//  -1 if it makes more than GLOB_MAX_ALTERNATIVES (out is then freed).
//  Recursion is as deep as groups nest, which the caller bounds.
static int
s_expand (const char *text, size_t start, size_t end, const size_t *close, s_list_t *out)
{
    s_list_push (out, util_strdup (""));
    size_t run = start;         //  literal bytes from here are not yet appended
    size_t i = start;
    while (i < end) {
        if (text[i] == '\\' && i + 1 < end) {
            i += 2;
            continue;
        }
        if (text[i] != '{' || close[i] == 0) {
            i++;
            continue;
        }
        s_list_append (out, text + run, i - run);

        //  Every alternative of the group, each expanded in turn.
        s_list_t group = { 0 };
        size_t from = i + 1;
        size_t k = from;
        int rc = 0;
        while (rc == 0) {
            //  The alternative ends at a ',' of this group, not of one
            //  nested in it, or at the group's end.
            while (k < close[i] && text[k] != ',') {
                if (text[k] == '\\' && k + 1 < close[i])
                    k += 2;
                else
                if (text[k] == '{' && close[k] != 0)
                    k = close[k] + 1;
                else
                    k++;
            }
            s_list_t part = { 0 };
            rc = s_expand (text, from, k, close, &part);
            for (size_t n = 0; rc == 0 && n < part.count; n++) {
                if (group.count == GLOB_MAX_ALTERNATIVES)
                    rc = -1;
                else {
                    s_list_push (&group, part.items[n]);
                    part.items[n] = NULL;
                }
            }
            s_list_free (&part);
            if (k >= close[i])
                break;
            from = k = k + 1;
        }
        //  Every expansion so far, times every alternative.
        if (rc == 0 && out->count * group.count > GLOB_MAX_ALTERNATIVES)
            rc = -1;
        if (rc == 0) {
            s_list_t product = { 0 };
            for (size_t a = 0; a < out->count; a++) {
                for (size_t b = 0; b < group.count; b++) {
                    size_t left = strlen (out->items[a]);
                    size_t right = strlen (group.items[b]);
                    char *item = util_malloc (left + right + 1);
                    memcpy (item, out->items[a], left);
                    memcpy (item + left, group.items[b], right + 1);
                    s_list_push (&product, item);
                }
            }
            s_list_free (out);
            *out = product;
        }
        s_list_free (&group);
        if (rc != 0) {
            s_list_free (out);
            return -1;
        }
        i = close[i] + 1;
        run = i;
    }
    s_list_append (out, text + run, end - run);
    return 0;
}

//  Expand pattern's braces into out (empty on entry). Returns 0, or -1 with
//  why filled in (if why is not NULL) when a bound is passed.
static int
s_expand_pattern (const char *pattern, s_list_t *out, char *why, size_t why_size)
{
    size_t size = strlen (pattern);
    size_t *close = util_malloc ((size + 1) * sizeof (size_t));
    size_t pairs = s_pair_braces (pattern, size, close);
    int rc = 0;
    if (pairs > GLOB_MAX_BRACE_GROUPS) {
        if (why)
            snprintf (why, why_size, "pattern '%s' has %zu {...} groups; at most %d are "
                      "allowed", pattern, pairs, GLOB_MAX_BRACE_GROUPS);
        rc = -1;
    }
    else
    if (s_expand (pattern, 0, size, close, out) != 0) {
        if (why)
            snprintf (why, why_size, "pattern '%s' expands to more than %d alternatives "
                      "with its {...} groups", pattern, GLOB_MAX_ALTERNATIVES);
        rc = -1;
    }
    free (close);
    return rc;
}

int
glob_check (const char *pattern, char *why, size_t why_size)
{
    assert (pattern && why);
    if (!s_has_brace (pattern))
        return 0;
    s_list_t alternatives = { 0 };
    int rc = s_expand_pattern (pattern, &alternatives, why, why_size);
    s_list_free (&alternatives);
    return rc;
}

bool
glob_match (const char *pattern, const char *path)
{
    assert (pattern && path);
    path = s_skip_dot_slash (path);
    size_t scount = 0;
    s_segment_t *ssegs = s_split (path, false, &scount);
    bool matched = false;
    if (!s_has_brace (pattern))
        matched = s_match_segments (pattern, ssegs, scount);
    else {
        s_list_t alternatives = { 0 };
        if (s_expand_pattern (pattern, &alternatives, NULL, 0) == 0) {
            for (size_t i = 0; i < alternatives.count && !matched; i++)
                matched = s_match_segments (alternatives.items[i], ssegs, scount);
        }
        s_list_free (&alternatives);
    }
    free (ssegs);
    return matched;
}

static bool
s_has_wildcard (const s_segment_t *segment)
{
    for (size_t i = 0; i < segment->size; i++) {
        char c = segment->text[i];
        if (c == '\\') {
            i++;            //  the escaped byte is literal
            continue;
        }
        //  Any unescaped '[' or '{' counts, even one the matcher would
        //  take as literal for want of a ']' or '}': stopping early only
        //  makes the walk start higher, which is never wrong. A brace
        //  must stop it: its group may hold '/' ("{a,b/c}"), so the
        //  segments after it are not fixed either.
        if (c == '*' || c == '?' || c == '[' || c == '{')
            return true;
    }
    return false;
}

char *
glob_base_dir (const char *pattern)
{
    assert (pattern);
    pattern = s_skip_dot_slash (pattern);
    size_t count = 0;
    s_segment_t *segments = s_split (pattern, true, &count);

    //  The base is a folder to walk, so the last segment is never part of
    //  it: it names the files matched, even when it holds no wildcard.
    //  The result is a real path, so escapes are undone ("a\*b" is the
    //  folder "a*b"); it is never longer than the pattern.
    char *base = util_malloc (strlen (pattern) + 2);
    size_t size = 0;
    for (size_t i = 0; i + 1 < count; i++) {
        if (s_has_wildcard (&segments[i]))
            break;
        if (i > 0)
            base[size++] = '/';
        const char *text = segments[i].text;
        for (size_t k = 0; k < segments[i].size; k++) {
            if (text[k] == '\\' && k + 1 < segments[i].size)
                k++;
            base[size++] = text[k];
        }
    }
    base[size] = 0;
    if (size == 0) {
        //  Nothing fixed: walk from here, or from the root for "/x*".
        strcpy (base, pattern[0] == '/' ? "/" : ".");
    }
    free (segments);
    return base;
}
