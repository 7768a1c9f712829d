/*  fuzz_json.c: the JSON reader (json_parse) that satchel import and the
    example listers use, fed a file's bytes.

    Per input: json_parse at the depth satchel import uses. On success the
    tree is written back as JSON by a small writer here and parsed again,
    and the two trees must be equal: that checks the UTF-8 the reader
    produces from escapes and surrogate pairs (the second parse validates
    it), that no string holds a NUL, and that numbers survive. The
    accessors are checked against each other on the way.                 */
#include "fuzz.h"

#include "json.h"

#include <stdbool.h>
#include <string.h>

//  A growing output buffer for the writer.
typedef struct {
    char *data;                  //  bytes written (malloc'd)
    size_t size;                 //  used
    size_t alloc;                //  allocated
} s_out_t;

static void
s_put (s_out_t *out, const char *bytes, size_t size)
{
    if (size > out->alloc - out->size) {
        size_t alloc = out->alloc ? out->alloc : 256;
        while (alloc - out->size < size)
            alloc *= 2;
        char *grown = realloc (out->data, alloc);
        FUZZ_CHECK (grown != NULL);
        out->data = grown;
        out->alloc = alloc;
    }
    memcpy (out->data + out->size, bytes, size);
    out->size += size;
}

static void
s_put_string (s_out_t *out, const char *text)
{
    s_put (out, "\"", 1);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        char escaped[8];
        if (*c == '"' || *c == '\\') {
            escaped[0] = '\\';
            escaped[1] = (char) *c;
            s_put (out, escaped, 2);
        }
        else if (*c < 0x20) {
            snprintf (escaped, sizeof escaped, "\\u%04x", *c);
            s_put (out, escaped, 6);
        }
        else
            s_put (out, (const char *) c, 1);   //  UTF-8 goes as it is
    }
    s_put (out, "\"", 1);
}

static void
s_write (s_out_t *out, const json_t *node)
{
    bool boolean;
    double number;
    char text[64];
    switch (json_type (node)) {
        case JSON_NULL:
            s_put (out, "null", 4);
            break;
        case JSON_BOOL:
            FUZZ_CHECK (json_bool (node, &boolean) == 0);
            s_put (out, boolean ? "true" : "false", boolean ? 4 : 5);
            break;
        case JSON_NUMBER: {
            FUZZ_CHECK (json_number (node, &number) == 0);
            //  17 significant digits read back as the same double.
            int length = snprintf (text, sizeof text, "%.17g", number);
            s_put (out, text, (size_t) length);
            break;
        }
        case JSON_STRING:
            FUZZ_CHECK (json_string (node) != NULL);
            s_put_string (out, json_string (node));
            break;
        case JSON_ARRAY:
        case JSON_OBJECT: {
            bool object = json_type (node) == JSON_OBJECT;
            s_put (out, object ? "{" : "[", 1);
            for (size_t i = 0; i < json_count (node); i++) {
                if (i > 0)
                    s_put (out, ",", 1);
                if (object) {
                    FUZZ_CHECK (json_key_at (node, i) != NULL);
                    s_put_string (out, json_key_at (node, i));
                    s_put (out, ":", 1);
                }
                FUZZ_CHECK (json_at (node, i) != NULL);
                s_write (out, json_at (node, i));
            }
            s_put (out, object ? "}" : "]", 1);
            break;
        }
    }
}

//  Two trees are equal, and each object's json_get finds the first member
//  of a key.
static void
s_check_same (const json_t *a, const json_t *b)
{
    FUZZ_CHECK (json_type (a) == json_type (b));
    FUZZ_CHECK (json_count (a) == json_count (b));
    bool x, y;
    double m, n;
    switch (json_type (a)) {
        case JSON_NULL:
            break;
        case JSON_BOOL:
            FUZZ_CHECK (json_bool (a, &x) == 0 && json_bool (b, &y) == 0 && x == y);
            break;
        case JSON_NUMBER:
            FUZZ_CHECK (json_number (a, &m) == 0 && json_number (b, &n) == 0);
            FUZZ_CHECK (memcmp (&m, &n, sizeof m) == 0);    //  -0 stays -0
            break;
        case JSON_STRING:
            FUZZ_CHECK (strcmp (json_string (a), json_string (b)) == 0);
            break;
        case JSON_OBJECT:
            for (size_t i = 0; i < json_count (a); i++) {
                FUZZ_CHECK (strcmp (json_key_at (a, i), json_key_at (b, i)) == 0);
                //  The first few members only: the check is quadratic.
                if (i < 16) {
                    size_t first = 0;
                    while (strcmp (json_key_at (a, first), json_key_at (a, i)) != 0)
                        first++;
                    FUZZ_CHECK (json_get (a, json_key_at (a, i)) == json_at (a, first));
                }
            }
            break;
        case JSON_ARRAY:
            FUZZ_CHECK (json_key_at (a, 0) == NULL);
            break;
    }
    //  An object's values are compared like an array's items.
    for (size_t i = 0; i < json_count (a); i++)
        s_check_same (json_at (a, i), json_at (b, i));
    FUZZ_CHECK (json_at (a, json_count (a)) == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char why[256] = "";
    json_t *root = json_parse ((const char *) data, size, JSON_DEFAULT_MAX_DEPTH, why,
                               sizeof why);
    if (!root) {
        FUZZ_CHECK (why[0] != 0);
        return 0;
    }
    s_out_t out = { .data = NULL };
    s_write (&out, root);
    json_t *again = json_parse (out.data, out.size, JSON_DEFAULT_MAX_DEPTH, why, sizeof why);
    if (!again)
        fprintf (stderr, "written back, refused: %s\n", why);
    FUZZ_CHECK (again != NULL);
    s_check_same (root, again);
    json_destroy (&again);
    json_destroy (&root);
    free (out.data);
    return 0;
}
