/*  json.h: a small, strict JSON reader (RFC 8259) for the files satchel
    reads: timing files to import and the output of list commands. It
    builds a tree, so it is for files of bounded size: the caller checks
    the size first. Depth is bounded, strings are decoded to UTF-8
    (\uXXXX escapes and surrogate pairs included); a string holding a NUL
    (\u0000) is refused, so every string is a plain C string. Numbers are
    read as double. Duplicate object keys are kept in order (json_get
    returns the first).                                                     */
#ifndef SATCHEL_JSON_H
#define SATCHEL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum {
    JSON_NULL = 0,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type_t;

typedef struct _json_t json_t;

#define JSON_DEFAULT_MAX_DEPTH 64u

//  Parse text[0..size) (need not be NUL-terminated) as exactly one JSON
//  value with only whitespace around it. Returns the tree (free with
//  json_destroy), or NULL with why: what is wrong and at which line and
//  column. max_depth above 1024 counts as 1024 (the parser recurses).
json_t *json_parse (const char *text, size_t size, unsigned max_depth, char *why,
                    size_t why_size);

//  Free a tree; safe on NULL; sets *self_p NULL.
void json_destroy (json_t **self_p);

json_type_t json_type (const json_t *self);

//  Items of an array, or members of an object; 0 for anything else.
size_t json_count (const json_t *self);

//  Item i of an array, or the value of member i of an object; NULL if out
//  of range or not a container.
const json_t *json_at (const json_t *self, size_t index);

//  Key of member i of an object; NULL if not an object or out of range.
const char *json_key_at (const json_t *self, size_t index);

//  Value of the first member named key, or NULL.
const json_t *json_get (const json_t *self, const char *key);

//  The string, or NULL if not a string.
const char *json_string (const json_t *self);

//  The number in *out; returns 0, or -1 if not a number.
int json_number (const json_t *self, double *out);

//  The boolean in *out; returns 0, or -1 if not a boolean.
int json_bool (const json_t *self, bool *out);

//  Shorthands for reading a document one trusts the shape of (satcheld's
//  reports): the number of key in object, or 0; the string, or "".
double json_get_number (const json_t *object, const char *key);
const char *json_get_text (const json_t *object, const char *key);

//  Write text to out as a JSON string, quoted, with '"', '\\' and control
//  bytes escaped; other bytes as they are (text is taken to be UTF-8).
void json_print_string (FILE *out, const char *text);

#endif
