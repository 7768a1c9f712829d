/*  json.c: see json.h. A recursive-descent reader over a byte span; the
    recursion is bounded by the depth limit, so a hostile file cannot
    exhaust the stack.                                                      */
#include "json.h"

#include "util.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  The recursion uses the C stack, so a caller's bound is clamped to this.
#define S_HARD_MAX_DEPTH 1024u

struct _json_t {
    json_type_t type;            //  what this node holds
    bool boolean;                //  JSON_BOOL: the value
    double number;               //  JSON_NUMBER: the value
    char *string;                //  JSON_STRING: decoded UTF-8 (owned)
    json_t **items;              //  JSON_ARRAY items, JSON_OBJECT values (owned)
    char **keys;                 //  JSON_OBJECT keys, parallel to items (owned)
    size_t count;                //  items used
    size_t alloc;                //  items allocated
};

typedef struct {
    const char *text;            //  input (borrowed, not NUL-terminated)
    size_t size;                 //  its length
    size_t pos;                  //  next byte to read
    unsigned depth;              //  containers open
    unsigned max_depth;          //  containers allowed open at once
    char *why;                   //  where the first error goes
    size_t why_size;             //  its size
    bool failed;                 //  an error was written
} s_parser_t;

static json_t *s_value (s_parser_t *self);

//  Record the first error with the line and column of self->pos (columns
//  count characters, not bytes: UTF-8 continuation bytes are skipped).
static void __attribute__ ((format (printf, 2, 3)))
s_fail (s_parser_t *self, const char *fmt, ...)
{
    if (self->failed)
        return;
    self->failed = true;
    size_t line = 1, column = 1;
    for (size_t i = 0; i < self->pos && i < self->size; i++) {
        unsigned char c = (unsigned char) self->text[i];
        if (c == '\n') {
            line++;
            column = 1;
        }
        else if ((c & 0xC0) != 0x80)
            column++;
    }
    char what[160];
    va_list args;
    va_start (args, fmt);
    vsnprintf (what, sizeof what, fmt, args);
    va_end (args);
    if (self->why && self->why_size > 0)
        snprintf (self->why, self->why_size, "line %zu, column %zu: %s", line, column, what);
}

//  The byte at pos, or -1 at the end.
static int
s_peek (const s_parser_t *self)
{
    return self->pos < self->size ? (unsigned char) self->text[self->pos] : -1;
}

static void
s_skip_space (s_parser_t *self)
{
    while (self->pos < self->size) {
        char c = self->text[self->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        self->pos++;
    }
}

//  Say what is wrong with the byte at pos, when it starts nothing valid.
static void
s_fail_unexpected (s_parser_t *self, const char *expected)
{
    int c = s_peek (self);
    if (c < 0)
        s_fail (self, "unexpected end of input, expected %s", expected);
    else if (c >= 0x21 && c < 0x7F)
        s_fail (self, "unexpected '%c', expected %s", c, expected);
    else
        s_fail (self, "unexpected byte 0x%02X, expected %s", (unsigned) c, expected);
}

static json_t *
s_node_new (json_type_t type)
{
    json_t *self = util_calloc (1, sizeof (json_t));
    self->type = type;
    return self;
}

static void
s_node_push (json_t *self, char *key, json_t *item)
{
    if (self->count == self->alloc) {
        self->alloc = self->alloc ? self->alloc * 2 : 8;
        self->items = util_realloc (self->items, self->alloc * sizeof (json_t *));
        if (self->type == JSON_OBJECT)
            self->keys = util_realloc (self->keys, self->alloc * sizeof (char *));
    }
    if (self->type == JSON_OBJECT)
        self->keys[self->count] = key;
    self->items[self->count++] = item;
}

//  Four hex digits at pos into *out. Returns 0, or -1.
static int
s_hex4 (s_parser_t *self, unsigned *out)
{
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
        int c = s_peek (self);
        int digit = c >= '0' && c <= '9' ? c - '0'
                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0) {
            s_fail (self, "\\u must be followed by four hex digits");
            return -1;
        }
        value = value * 16 + (unsigned) digit;
        self->pos++;
    }
    *out = value;
    return 0;
}

//  Length of the well-formed UTF-8 sequence at pos (RFC 3629: no overlong
//  forms, no surrogates, nothing above U+10FFFF), or 0 if it is not one.
static size_t
s_utf8_length (const s_parser_t *self)
{
    const unsigned char *s = (const unsigned char *) self->text + self->pos;
    size_t left = self->size - self->pos;
    size_t length = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (length == 0 || s[0] < 0xC2 || s[0] > 0xF4 || left < length)
        return 0;
    for (size_t i = 1; i < length; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F)
        || (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return length;
}

//  Write code point cp (valid, not a surrogate) to out as UTF-8; returns
//  its length.
static size_t
s_utf8_put (unsigned cp, char *out)
{
    static const unsigned char lead[] = { 0, 0x00, 0xC0, 0xE0, 0xF0 };
    size_t length = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (size_t i = length - 1; i > 0; i--, cp >>= 6)
        out[i] = (char) (0x80 | (cp & 0x3F));
    out[0] = (char) (lead[length] | cp);
    return length;
}

//  An escape after the backslash at pos-1: decoded into out, its length
//  returned; 0 on error.
static size_t
s_escape (s_parser_t *self, char *out)
{
    int c = s_peek (self);
    const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
    const char *hit = c > 0 ? strchr (from, c) : NULL;
    if (hit) {
        self->pos++;
        out[0] = to[hit - from];
        return 1;
    }
    if (c != 'u') {
        s_fail_unexpected (self, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
        return 0;
    }
    self->pos++;
    unsigned cp;
    if (s_hex4 (self, &cp) != 0)
        return 0;
    if (cp == 0) {
        self->pos -= 6;
        s_fail (self, "\\u0000 is not allowed in a string");
        return 0;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        self->pos -= 6;
        s_fail (self, "lone low surrogate \\u%04X", cp);
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned low = 0;
        if (self->size - self->pos < 6 || self->text[self->pos] != '\\'
            || self->text[self->pos + 1] != 'u') {
            self->pos -= 6;
            s_fail (self, "lone high surrogate \\u%04X", cp);
            return 0;
        }
        self->pos += 2;
        if (s_hex4 (self, &low) != 0)
            return 0;
        if (low < 0xDC00 || low > 0xDFFF) {
            self->pos -= 12;
            s_fail (self, "high surrogate \\u%04X not followed by a low one", cp);
            return 0;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    return s_utf8_put (cp, out);
}

//  A string at pos (on its opening quote). Returns it decoded (caller
//  frees), or NULL.
static char *
s_string (s_parser_t *self)
{
    assert (s_peek (self) == '"');
    size_t start = self->pos++;
    //  Decoding never lengthens: an escape of 2, 6 or 12 bytes becomes at
    //  most 1, 3 or 4. So the raw span bounds the output.
    size_t end = self->pos;
    while (end < self->size && self->text[end] != '"')
        end += self->text[end] == '\\' ? 2 : 1;
    if (end >= self->size) {
        self->pos = start;
        s_fail (self, "unterminated string");
        return NULL;
    }
    char *out = util_malloc (end - start);
    size_t used = 0;
    while (true) {
        unsigned char c = (unsigned char) self->text[self->pos];
        if (c == '"') {
            self->pos++;
            break;
        }
        size_t length = 1;
        if (c < 0x20) {
            s_fail (self, "control character 0x%02X in a string (escape it)", c);
            goto fail;
        }
        else if (c == '\\') {
            self->pos++;
            length = s_escape (self, out + used);
            if (length == 0)
                goto fail;
            used += length;
            continue;
        }
        else if (c >= 0x80) {
            length = s_utf8_length (self);
            if (length == 0) {
                s_fail (self, "invalid UTF-8 in a string");
                goto fail;
            }
        }
        memcpy (out + used, self->text + self->pos, length);
        used += length;
        self->pos += length;
    }
    assert (used < end - start);
    out[used] = 0;
    return out;
fail:
    free (out);
    return NULL;
}

//  Skip digits at pos; returns how many.
static size_t
s_digits (s_parser_t *self)
{
    size_t start = self->pos;
    while (self->pos < self->size && self->text[self->pos] >= '0' && self->text[self->pos] <= '9')
        self->pos++;
    return self->pos - start;
}

//  A number per RFC 8259's grammar, checked before strtod sees it.
static json_t *
s_number (s_parser_t *self)
{
    size_t start = self->pos;
    if (s_peek (self) == '-')
        self->pos++;
    if (s_peek (self) == '0') {
        self->pos++;
        if (s_peek (self) >= '0' && s_peek (self) <= '9') {
            s_fail (self, "leading zero in a number");
            return NULL;
        }
    }
    else if (s_digits (self) == 0) {
        s_fail_unexpected (self, "a digit");
        return NULL;
    }
    if (s_peek (self) == '.') {
        self->pos++;
        if (s_digits (self) == 0) {
            s_fail_unexpected (self, "a digit after '.'");
            return NULL;
        }
    }
    if (s_peek (self) == 'e' || s_peek (self) == 'E') {
        self->pos++;
        if (s_peek (self) == '+' || s_peek (self) == '-')
            self->pos++;
        if (s_digits (self) == 0) {
            s_fail_unexpected (self, "a digit in the exponent");
            return NULL;
        }
    }
    char *span = util_strndup (self->text + start, self->pos - start);
    char *end = NULL;
    errno = 0;
    double value = strtod (span, &end);
    //  A locale whose decimal point is not '.' stops strtod early: refused
    //  rather than misread.
    bool ok = *end == 0 && isfinite (value) && !(errno == ERANGE && fabs (value) >= 1.0);
    free (span);
    if (!ok) {
        self->pos = start;
        s_fail (self, "number out of range");
        return NULL;
    }
    json_t *node = s_node_new (JSON_NUMBER);
    node->number = value;
    return node;
}

//  An array or object at pos (on its opening bracket).
static json_t *
s_container (s_parser_t *self)
{
    bool object = s_peek (self) == '{';
    char close = object ? '}' : ']';
    if (self->depth >= self->max_depth) {
        s_fail (self, "nesting deeper than %u", self->max_depth);
        return NULL;
    }
    self->depth++;
    self->pos++;
    json_t *node = s_node_new (object ? JSON_OBJECT : JSON_ARRAY);
    s_skip_space (self);
    if (s_peek (self) == close) {
        self->pos++;
        goto done;
    }
    while (true) {
        char *key = NULL;
        if (object) {
            if (s_peek (self) != '"') {
                s_fail_unexpected (self, "a string key");
                goto fail;
            }
            key = s_string (self);
            if (!key)
                goto fail;
            s_skip_space (self);
            if (s_peek (self) != ':') {
                free (key);
                s_fail_unexpected (self, "':' after a key");
                goto fail;
            }
            self->pos++;
            s_skip_space (self);
        }
        json_t *item = s_value (self);
        if (!item) {
            free (key);
            goto fail;
        }
        s_node_push (node, key, item);
        s_skip_space (self);
        if (s_peek (self) == close) {
            self->pos++;
            break;
        }
        if (s_peek (self) != ',') {
            s_fail_unexpected (self, object ? "',' or '}'" : "',' or ']'");
            goto fail;
        }
        self->pos++;
        s_skip_space (self);
        if (s_peek (self) == close) {
            s_fail (self, "trailing comma before '%c'", close);
            goto fail;
        }
    }
done:
    self->depth--;
    return node;
fail:
    json_destroy (&node);
    return NULL;
}

//  A literal word at pos (true, false, null).
static json_t *
s_literal (s_parser_t *self, const char *word, json_type_t type, bool boolean)
{
    size_t length = strlen (word);
    if (self->size - self->pos < length || memcmp (self->text + self->pos, word, length) != 0) {
        s_fail (self, "invalid literal, expected %s", word);
        return NULL;
    }
    self->pos += length;
    json_t *node = s_node_new (type);
    node->boolean = boolean;
    return node;
}

//  Any value at pos (whitespace already skipped).
static json_t *
s_value (s_parser_t *self)
{
    int c = s_peek (self);
    if (c == '{' || c == '[')
        return s_container (self);
    if (c == '"') {
        char *text = s_string (self);
        if (!text)
            return NULL;
        json_t *node = s_node_new (JSON_STRING);
        node->string = text;
        return node;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return s_number (self);
    if (c == 't')
        return s_literal (self, "true", JSON_BOOL, true);
    if (c == 'f')
        return s_literal (self, "false", JSON_BOOL, false);
    if (c == 'n')
        return s_literal (self, "null", JSON_NULL, false);
    s_fail_unexpected (self, "a value");
    return NULL;
}

json_t *
json_parse (const char *text, size_t size, unsigned max_depth, char *why, size_t why_size)
{
    s_parser_t parser = {
        .text = text,
        .size = text ? size : 0,
        .max_depth = max_depth < S_HARD_MAX_DEPTH ? max_depth : S_HARD_MAX_DEPTH,
        .why = why,
        .why_size = why_size,
    };
    s_skip_space (&parser);
    json_t *root = s_value (&parser);
    if (root) {
        s_skip_space (&parser);
        if (parser.pos < parser.size) {
            s_fail (&parser, "unexpected data after the JSON value");
            json_destroy (&root);
        }
    }
    return root;
}

void
json_destroy (json_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        json_destroy (&self->items[i]);
        if (self->keys)
            free (self->keys[i]);
    }
    free (self->items);
    free (self->keys);
    free (self->string);
    free (self);
    *self_p = NULL;
}

json_type_t
json_type (const json_t *self)
{
    return self ? self->type : JSON_NULL;
}

size_t
json_count (const json_t *self)
{
    return self && (self->type == JSON_ARRAY || self->type == JSON_OBJECT) ? self->count : 0;
}

const json_t *
json_at (const json_t *self, size_t index)
{
    return index < json_count (self) ? self->items[index] : NULL;
}

const char *
json_key_at (const json_t *self, size_t index)
{
    return self && self->type == JSON_OBJECT && index < self->count ? self->keys[index] : NULL;
}

const json_t *
json_get (const json_t *self, const char *key)
{
    if (!self || self->type != JSON_OBJECT || !key)
        return NULL;
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->keys[i], key) == 0)
            return self->items[i];
    return NULL;
}

const char *
json_string (const json_t *self)
{
    return self && self->type == JSON_STRING ? self->string : NULL;
}

int
json_number (const json_t *self, double *out)
{
    if (!self || self->type != JSON_NUMBER)
        return -1;
    *out = self->number;
    return 0;
}

int
json_bool (const json_t *self, bool *out)
{
    if (!self || self->type != JSON_BOOL)
        return -1;
    *out = self->boolean;
    return 0;
}

void
json_print_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

double
json_get_number (const json_t *object, const char *key)
{
    double value = 0;
    json_number (json_get (object, key), &value);
    return value;
}

const char *
json_get_text (const json_t *object, const char *key)
{
    const char *text = json_string (json_get (object, key));
    return text ? text : "";
}
