/* Test support shared by the C and C++ API tests (see sftest.h). */
#define _POSIX_C_SOURCE 200809L

#include "sftest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ checks */

static int passed, failed;
/* A broken build could fail thousands of field checks: show the first ones only. */
enum { MAX_PRINTED_FAILURES = 40 };

void sft_check(int ok, const char *file, int line, const char *expr, const char *fmt, ...)
{
    if (ok) {
        ++passed;
        return;
    }
    ++failed;
    if (failed > MAX_PRINTED_FAILURES) {
        if (failed == MAX_PRINTED_FAILURES + 1)
            fprintf(stderr, "(further failures not shown)\n");
        return;
    }
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int sft_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, passed, failed);
    fflush(stdout);
    return failed == 0 && passed > 0 ? 0 : 1;
}

int sft_failures(void) { return failed; }

int sft_close(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return 1;
    double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
    return fabs(a - b) <= 1e-12 * scale;
}

int sft_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

char *sft_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------ files */

unsigned char *sft_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        cap *= 2;
        unsigned char *bigger = realloc(buf, cap + 1);
        if (!bigger) {
            free(buf);
            buf = NULL;
        } else {
            buf = bigger;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

int sft_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = len ? fwrite(data, 1, len, f) : 0;
    int rc = fclose(f);
    return put == len && rc == 0 ? 0 : -1;
}

uint32_t sft_crc32(const unsigned char *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; ++i) {
        crc ^= data[i];
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ------------------------------------------------------------------ traces */

int sft_trace_read(const char *path, sft_trace *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *text = (char *)sft_read_file(path, NULL);
    if (!text) {
        snprintf(err, errlen, "cannot read trace %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 2048;
    out->values = malloc(cap * sizeof *out->values);
    out->steps = malloc(cap * sizeof *out->steps);
    int rc = 0;
    size_t lineno = 0;
    for (char *line = text; line && *line && rc == 0;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        ++lineno;
        char *p = line;
        while (*p == ' ' || *p == '\t' || *p == '\r')
            ++p;
        if (*p && *p != '#') {
            char *end;
            long long step = strtoll(p, &end, 10);
            char *vend;
            double v = strtod(end, &vend);
            if (end == p || vend == end) {
                snprintf(err, errlen, "%s:%zu: expected \"step value\", got \"%s\"", path, lineno, line);
                rc = -1;
                break;
            }
            if (out->n == cap) {
                cap *= 2;
                double *nv = realloc(out->values, cap * sizeof *nv);
                if (nv)
                    out->values = nv;
                int64_t *ns = realloc(out->steps, cap * sizeof *ns);
                if (ns)
                    out->steps = ns;
                if (!nv || !ns) {
                    snprintf(err, errlen, "out of memory reading %s", path);
                    rc = -1;
                    break;
                }
            }
            out->values[out->n] = v;
            out->steps[out->n] = step;
            ++out->n;
        }
        line = next;
    }
    free(text);
    if (rc == 0 && out->n == 0) {
        snprintf(err, errlen, "%s holds no data rows", path);
        rc = -1;
    }
    if (rc != 0)
        sft_trace_free(out);
    return rc;
}

void sft_trace_free(sft_trace *t)
{
    free(t->values);
    free(t->steps);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ JSON */

typedef struct parser {
    const char *p;
    char *err;
    size_t errlen;
    int failed;
} parser;

static void fail(parser *ps, const char *what)
{
    if (!ps->failed)
        snprintf(ps->err, ps->errlen, "JSON: %s near \"%.20s\"", what, ps->p);
    ps->failed = 1;
}

static void skip_ws(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ++ps->p;
}

static void json_clear(sft_json *v)
{
    free(v->string);
    for (size_t i = 0; i < v->n; ++i) {
        json_clear(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void put_utf8(char **out, unsigned cp)
{
    char *o = *out;
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    *out = o;
}

static char *parse_string(parser *ps)
{
    if (*ps->p != '"') {
        fail(ps, "expected a string");
        return NULL;
    }
    ++ps->p;
    const char *start = ps->p;
    while (*ps->p && *ps->p != '"')
        ps->p += (*ps->p == '\\' && ps->p[1]) ? 2 : 1;
    if (*ps->p != '"') {
        fail(ps, "unterminated string");
        return NULL;
    }
    /* Escapes only shrink the text (\uXXXX -> at most 3 bytes). */
    char *s = malloc((size_t)(ps->p - start) + 1), *o = s;
    if (!s) {
        fail(ps, "out of memory");
        return NULL;
    }
    for (const char *c = start; c < ps->p; ++c) {
        if (*c != '\\') {
            *o++ = *c;
            continue;
        }
        ++c;
        switch (*c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 1; k <= 4; ++k) {
                char h = c[k];
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= (unsigned)(h - 'A' + 10);
                else {
                    free(s);
                    fail(ps, "bad \\u escape");
                    return NULL;
                }
            }
            c += 4;
            put_utf8(&o, cp);
            break;
        }
        default: *o++ = *c; break; /* \" \\ \/ */
        }
    }
    *o = 0;
    ++ps->p;
    return s;
}

static int parse_value(parser *ps, sft_json *v, int depth);

static int push_item(parser *ps, sft_json *v, size_t *cap, char *key)
{
    if (v->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        sft_json *items = realloc(v->items, ncap * sizeof *items);
        if (items)
            v->items = items;
        if (v->type == SFT_JSON_OBJECT) {
            char **keys = realloc(v->keys, ncap * sizeof *keys);
            if (keys)
                v->keys = keys;
            if (!keys)
                items = NULL;
        }
        if (!items) {
            free(key);
            fail(ps, "out of memory");
            return -1;
        }
        *cap = ncap;
    }
    sft_json *item = &v->items[v->n];
    memset(item, 0, sizeof *item);
    if (v->type == SFT_JSON_OBJECT)
        v->keys[v->n] = key;
    ++v->n; /* counted before parsing, so that json_clear frees a half-parsed item */
    return parse_value(ps, item, 1);
}

static int parse_value(parser *ps, sft_json *v, int depth)
{
    (void)depth;
    skip_ws(ps);
    const char *p = ps->p;
    if (*p == '{' || *p == '[') {
        int object = *p == '{';
        char close = object ? '}' : ']';
        v->type = object ? SFT_JSON_OBJECT : SFT_JSON_ARRAY;
        size_t cap = 0;
        ++ps->p;
        skip_ws(ps);
        if (*ps->p == close) {
            ++ps->p;
            return 0;
        }
        for (;;) {
            char *key = NULL;
            if (object) {
                skip_ws(ps);
                key = parse_string(ps);
                if (!key)
                    return -1;
                skip_ws(ps);
                if (*ps->p != ':') {
                    free(key);
                    fail(ps, "expected ':'");
                    return -1;
                }
                ++ps->p;
            }
            if (push_item(ps, v, &cap, key) != 0)
                return -1;
            skip_ws(ps);
            if (*ps->p == ',') {
                ++ps->p;
                continue;
            }
            if (*ps->p == close) {
                ++ps->p;
                return 0;
            }
            fail(ps, "expected ',' or a closing bracket");
            return -1;
        }
    }
    if (*p == '"') {
        v->type = SFT_JSON_STRING;
        v->string = parse_string(ps);
        return v->string ? 0 : -1;
    }
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
        v->type = SFT_JSON_BOOL;
        v->boolean = *p == 't';
        ps->p += v->boolean ? 4 : 5;
        return 0;
    }
    if (strncmp(p, "null", 4) == 0) {
        v->type = SFT_JSON_NULL;
        ps->p += 4;
        return 0;
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end;
        v->type = SFT_JSON_NUMBER;
        v->number = strtod(p, &end);
        if (end == p) {
            fail(ps, "bad number");
            return -1;
        }
        ps->p = end;
        return 0;
    }
    fail(ps, "unexpected character");
    return -1;
}

sft_json *sft_json_parse(const char *text, char *err, size_t errlen)
{
    parser ps = {text, err, errlen, 0};
    sft_json *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (parse_value(&ps, v, 0) == 0) {
        skip_ws(&ps);
        if (*ps.p)
            fail(&ps, "trailing characters");
    } else {
        ps.failed = 1;
    }
    if (ps.failed) {
        sft_json_free(v);
        return NULL;
    }
    return v;
}

sft_json *sft_json_parse_file(const char *path, char *err, size_t errlen)
{
    char *text = (char *)sft_read_file(path, NULL);
    if (!text) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    sft_json *v = sft_json_parse(text, err, errlen);
    free(text);
    return v;
}

void sft_json_free(sft_json *v)
{
    if (v) {
        json_clear(v);
        free(v);
    }
}

const sft_json *sft_json_get(const sft_json *obj, const char *key)
{
    if (!obj || obj->type != SFT_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; ++i)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

double sft_json_num(const sft_json *obj, const char *key)
{
    const sft_json *v = sft_json_get(obj, key);
    return v && v->type == SFT_JSON_NUMBER ? v->number : NAN;
}

int sft_json_bool(const sft_json *obj, const char *key)
{
    const sft_json *v = sft_json_get(obj, key);
    return v && v->type == SFT_JSON_BOOL ? v->boolean : -1;
}

const char *sft_json_str(const sft_json *obj, const char *key)
{
    const sft_json *v = sft_json_get(obj, key);
    return v && v->type == SFT_JSON_STRING ? v->string : NULL;
}

int sft_json_is_null(const sft_json *v) { return v == NULL || v->type == SFT_JSON_NULL; }

/* ------------------------------------------------------------------ decisions */

static int verdict_code(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "Relevant") == 0)
        return 0;
    if (strcmp(name, "Irrelevant") == 0)
        return 1;
    if (strcmp(name, "Unsure") == 0)
        return 2;
    return -1;
}

#define CHECK_NUM(field, got, want)                                                                \
    SFT_CHECK(sft_close((got), (want)), "%s frame %llu: %s %.17g, predict says %.17g", what,      \
              (unsigned long long)g->frame, field, (got), (want))

void sft_check_decision(const sft_decision *g, const sft_json *e, const sft_trace *trace,
                        const char *what)
{
    uint64_t frame = (uint64_t)sft_json_num(e, "frame");
    SFT_CHECK(g->frame == frame, "%s: decision at frame %llu, predict says %llu", what,
              (unsigned long long)g->frame, (unsigned long long)frame);
    if (g->frame >= 1 && g->frame <= trace->n)
        SFT_CHECK((double)trace->steps[g->frame - 1] == sft_json_num(e, "step"),
                  "%s frame %llu: step %lld, predict says %.17g", what, (unsigned long long)g->frame,
                  (long long)trace->steps[g->frame - 1], sft_json_num(e, "step"));

    const sft_json *screen = sft_json_get(e, "screen");
    const sft_json *forecast = sft_json_get(e, "forecast");
    int has_screen = !sft_json_is_null(screen), has_forecast = !sft_json_is_null(forecast);
    SFT_CHECK(has_screen || has_forecast, "%s: predict event without a decision", what);
    SFT_CHECK(!!(g->flags & 1u) == has_screen && !!(g->flags & 2u) == has_forecast && g->flags <= 3u,
              "%s frame %llu: flags %u, predict has screen %d forecast %d", what,
              (unsigned long long)g->frame, g->flags, has_screen, has_forecast);
    SFT_CHECK(g->halt == sft_json_bool(e, "halt"), "%s frame %llu: halt %d, predict says %d", what,
              (unsigned long long)g->frame, g->halt, sft_json_bool(e, "halt"));

    int ood = 0;
    if (has_screen) {
        int verdict = verdict_code(sft_json_str(screen, "verdict"));
        SFT_CHECK(verdict >= 0, "%s: predict verdict '%s' unknown", what,
                  sft_json_str(screen, "verdict") ? sft_json_str(screen, "verdict") : "(none)");
        SFT_CHECK(g->verdict == verdict, "%s frame %llu: verdict %d, predict says %d", what,
                  (unsigned long long)g->frame, g->verdict, verdict);
        SFT_CHECK(g->halt == sft_json_bool(screen, "halt"), "%s: halt differs from screen.halt", what);
        SFT_CHECK(g->advisory == sft_json_bool(screen, "advisory"),
                  "%s frame %llu: advisory %d, predict says %d", what, (unsigned long long)g->frame,
                  g->advisory, sft_json_bool(screen, "advisory"));
        if (!has_forecast)
            SFT_CHECK(g->stage == (uint32_t)sft_json_num(screen, "stage"),
                      "%s frame %llu: stage %u, predict says %.0f", what, (unsigned long long)g->frame,
                      g->stage, sft_json_num(screen, "stage"));
        CHECK_NUM("vote", g->vote, sft_json_num(screen, "vote"));
        CHECK_NUM("score", g->score, sft_json_num(screen, "score"));
        CHECK_NUM("cut", g->cut, sft_json_num(screen, "cut"));
        ood |= sft_json_bool(screen, "ood") == 1;
    } else {
        /* No screening decision: the verdict is "unsure", halt 0, vote and cut NaN. */
        SFT_CHECK(g->verdict == 2 && !g->halt && !g->advisory && isnan(g->vote) && isnan(g->cut),
                  "%s frame %llu: screening fields set without a screening decision", what,
                  (unsigned long long)g->frame);
    }
    if (has_forecast) {
        SFT_CHECK(g->stage == (uint32_t)sft_json_num(forecast, "stage"),
                  "%s frame %llu: stage %u, predict's forecast stage %.0f", what,
                  (unsigned long long)g->frame, g->stage, sft_json_num(forecast, "stage"));
        CHECK_NUM("mu-sigma", g->mu_minus_sigma, sft_json_num(forecast, "mu_minus_sigma"));
        CHECK_NUM("mu+sigma", g->mu_plus_sigma, sft_json_num(forecast, "mu_plus_sigma"));
        CHECK_NUM("mu_low", g->mu_low, sft_json_num(forecast, "mu_low"));
        CHECK_NUM("mu_high", g->mu_high, sft_json_num(forecast, "mu_high"));
        CHECK_NUM("level", g->level, sft_json_num(forecast, "level"));
        SFT_CHECK(g->confident == sft_json_bool(forecast, "confident"),
                  "%s frame %llu: confident %d, predict says %d", what, (unsigned long long)g->frame,
                  g->confident, sft_json_bool(forecast, "confident"));
        SFT_CHECK(g->within_tolerance == sft_json_bool(forecast, "within_tolerance"),
                  "%s frame %llu: within_tolerance %d, predict says %d", what,
                  (unsigned long long)g->frame, g->within_tolerance,
                  sft_json_bool(forecast, "within_tolerance"));
        CHECK_NUM("tolerance", g->tolerance, sft_json_num(forecast, "tolerance"));
        {
            const char *ev = sft_json_str(forecast, "evidence");
            int code = !ev ? -1 : strcmp(ev, "Model") == 0 ? 0 : strcmp(ev, "OwnStatistics") == 0 ? 1 : -1;
            SFT_CHECK(g->evidence == code, "%s frame %llu: evidence %d, predict says %s", what,
                      (unsigned long long)g->frame, g->evidence, ev ? ev : "(none)");
        }
        /* confident = within the tolerance and in distribution */
        SFT_CHECK(g->confident == (g->within_tolerance && !sft_json_bool(forecast, "ood")),
                  "%s frame %llu: confident %d, within_tolerance %d", what,
                  (unsigned long long)g->frame, g->confident, g->within_tolerance);
        ood |= sft_json_bool(forecast, "ood") == 1;
    } else {
        SFT_CHECK(isnan(g->mu_minus_sigma) && isnan(g->mu_plus_sigma) && isnan(g->mu_low) &&
                      isnan(g->mu_high) && !g->confident && !g->within_tolerance &&
                      isnan(g->tolerance),
                  "%s frame %llu: forecast fields set without a forecast", what,
                  (unsigned long long)g->frame);
    }
    SFT_CHECK(g->ood == ood, "%s frame %llu: ood %d, predict says %d", what,
              (unsigned long long)g->frame, g->ood, ood);
}

/* ------------------------------------------------------------------ the fixture */

int sft_fixture_read(const char *dir, sft_fixture *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *list = sft_strdupf("%s/heldout.tsv", dir);
    char *text = list ? (char *)sft_read_file(list, NULL) : NULL;
    if (!text) {
        snprintf(err, errlen, "cannot read %s (run the capi_fixture test first): %s",
                 list ? list : dir, strerror(errno));
        free(list);
        return -1;
    }
    free(list);
    out->wide_model = sft_strdupf("%s/wide.sfm", dir);
    out->paper_model = sft_strdupf("%s/paper.sfm", dir);
    size_t cap = 0;
    int rc = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        if (*line) {
            char *f1 = line, *f2 = strchr(f1, '\t'), *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
            if (!f2 || !f3) {
                snprintf(err, errlen, "%s/heldout.tsv: bad line \"%s\"", dir, line);
                rc = -1;
                break;
            }
            *f2++ = 0;
            *f3++ = 0;
            if (out->n == cap) {
                cap = cap ? 2 * cap : 64;
                sft_case *c = realloc(out->cases, cap * sizeof *c);
                if (!c) {
                    snprintf(err, errlen, "out of memory");
                    rc = -1;
                    break;
                }
                out->cases = c;
            }
            sft_case *c = &out->cases[out->n++];
            c->trace_path = sft_strdupf("%s", f1);
            c->json_wide = sft_strdupf("%s", f2);
            c->json_paper = sft_strdupf("%s", f3);
        }
        line = next;
    }
    free(text);
    if (rc == 0 && out->n == 0) {
        snprintf(err, errlen, "%s/heldout.tsv lists no trace", dir);
        rc = -1;
    }
    if (rc != 0)
        sft_fixture_free(out);
    return rc;
}

void sft_fixture_free(sft_fixture *f)
{
    for (size_t i = 0; i < f->n; ++i) {
        free(f->cases[i].trace_path);
        free(f->cases[i].json_wide);
        free(f->cases[i].json_paper);
    }
    free(f->cases);
    free(f->wide_model);
    free(f->paper_model);
    memset(f, 0, sizeof *f);
}
