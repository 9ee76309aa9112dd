/*
 * Test support shared by the C and C++ API tests: pass/fail accounting, a reader for LAMMPS
 * `fix ave/time` trace files, a small JSON reader (for `simforecast predict --json`), the
 * comparison of one decision with predict's, and file helpers. Plain C11.
 */
#ifndef SFTEST_H
#define SFTEST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ checks */

/* Records one check; prints the failure (file, line, expression, formatted detail). */
void sft_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define SFT_CHECK(cond, ...) sft_check(!!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

/* Prints "<name>: N passed, M failed" and returns the process exit status (0 when all passed). */
int sft_summary(const char *name);
int sft_failures(void);

/* Equal at 1e-12 relative (absolute below 1), NaN equal to NaN, infinities equal to themselves. */
int sft_close(double a, double b);

/* True when `haystack` is non-NULL and contains `needle`. */
int sft_contains(const char *haystack, const char *needle);

/* ------------------------------------------------------------------ traces */

typedef struct sft_trace {
    size_t n;
    double *values; /* first value column */
    int64_t *steps; /* the TimeStep column */
} sft_trace;

/* Reads a `fix ave/time` file: '#' lines are comments, then "step value ..." rows; the first
 * value column is kept. Returns 0, or -1 with a message in `err`. */
int sft_trace_read(const char *path, sft_trace *out, char *err, size_t errlen);
void sft_trace_free(sft_trace *t);

/* ------------------------------------------------------------------ JSON */

typedef enum sft_json_type {
    SFT_JSON_NULL,
    SFT_JSON_BOOL,
    SFT_JSON_NUMBER,
    SFT_JSON_STRING,
    SFT_JSON_ARRAY,
    SFT_JSON_OBJECT
} sft_json_type;

typedef struct sft_json {
    sft_json_type type;
    int boolean;
    double number;
    char *string;
    struct sft_json *items; /* array elements, or object values */
    char **keys;            /* object keys (parallel to items) */
    size_t n;
} sft_json;

/* Parses a whole JSON text. Returns NULL with a message in `err` on a syntax error. */
sft_json *sft_json_parse(const char *text, char *err, size_t errlen);
sft_json *sft_json_parse_file(const char *path, char *err, size_t errlen);
void sft_json_free(sft_json *v);
/* Member `key` of an object (NULL when absent or `obj` is not an object). */
const sft_json *sft_json_get(const sft_json *obj, const char *key);
/* A number member (null -> NaN: serde_json writes NaN as null); NaN when absent. */
double sft_json_num(const sft_json *obj, const char *key);
/* A boolean member; -1 when absent or not a boolean. */
int sft_json_bool(const sft_json *obj, const char *key);
/* A string member; NULL when absent or not a string. */
const char *sft_json_str(const sft_json *obj, const char *key);
int sft_json_is_null(const sft_json *v);

/* ------------------------------------------------------------------ decisions */

/* One decision as both APIs report it (the C sf_event, the C++ simforecast::Event). */
typedef struct sft_decision {
    uint32_t flags;
    uint32_t stage;
    uint64_t frame;
    int32_t verdict;
    int halt, advisory, ood, confident, within_tolerance;
    int32_t evidence;
    double vote, score, cut, mu_minus_sigma, mu_plus_sigma, mu_low, mu_high, level, tolerance;
} sft_decision;

/* Checks `got` against one element of predict's "events" array, field by field: frame, the step
 * of that frame in `trace`, which decisions were made, verdict, halt, advisory, ood, stage,
 * vote, cut, mu - sigma, mu + sigma, mu_low, mu_high, level, confident, within_tolerance,
 * tolerance, evidence. `what` labels
 * failures. */
void sft_check_decision(const sft_decision *got, const sft_json *expected, const sft_trace *trace,
                        const char *what);

/* ------------------------------------------------------------------ files */

/* Reads a whole file (NUL-terminated as a convenience); NULL on failure. Caller frees. */
unsigned char *sft_read_file(const char *path, size_t *len);
int sft_write_file(const char *path, const void *data, size_t len);
/* CRC-32 (IEEE, as the model file uses), to forge files whose checksum is valid. */
uint32_t sft_crc32(const unsigned char *data, size_t len);

/* ------------------------------------------------------------------ the fixture */

/* What the ctest fixture (tests/c/make_fixture.cmake) made: two models trained on the even
 * traces, and for each odd (held-out) trace predict's JSON under each model. */
typedef struct sft_case {
    char *trace_path;
    char *json_wide;  /* predict --json with wide.sfm (default preset) */
    char *json_paper; /* predict --json with paper.sfm (paper preset: halts) */
} sft_case;

typedef struct sft_fixture {
    char *wide_model;
    char *paper_model;
    sft_case *cases;
    size_t n;
} sft_fixture;

/* Reads <dir>/heldout.tsv. Returns 0, or -1 with a message in `err`. */
int sft_fixture_read(const char *dir, sft_fixture *out, char *err, size_t errlen);
void sft_fixture_free(sft_fixture *f);

/* snprintf into a fresh heap string. Caller frees. */
char *sft_strdupf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* SFTEST_H */
