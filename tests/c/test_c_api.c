/*
 * The C ABI against real models: every held-out trace streamed through sf_monitor_push gives
 * exactly the decisions of `simforecast predict --json` (the Rust API's Monitor, replayed by the
 * CLI), under two models (one that halts, one that never does); and every bad input gets its
 * status code and a message that names the problem.
 *
 *   test_c_api <fixture dir> <scratch dir>
 *
 * The fixture (make_fixture.cmake) holds wide.sfm and paper.sfm trained on the even traces of
 * data/nemd-wide-public, heldout.tsv and predict's JSON for each odd trace under each model, and
 * `simforecast convergence --json` on the odd traces (the model-free mode, test_c_convergence.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "simforecast.h"
#include "sftest.h"
#include "test_c_convergence.h"

#ifndef SF_EXPECTED_VERSION
#error "build with -DSF_EXPECTED_VERSION=\"<crate version>\""
#endif

/* sftest.c compares with the header's numbers; keep them in step. Since ABI 2 the states and
 * verdicts are the enumerations sf_state and sf_verdict (int32_t), with the values of ABI 1;
 * ABI 3 adds the convergence mode (test_c_convergence.c) and changes nothing of ABI 2; ABI 4
 * adds the tolerance (sf_event's within_tolerance, evidence and tolerance; test_tolerance). */
_Static_assert(SF_ABI_VERSION == 4, "this test is written for ABI 4");
_Static_assert(SF_EVIDENCE_MODEL == 0 && SF_EVIDENCE_OWN_STATISTICS == 1, "evidence");
_Static_assert(SF_EVENT_SCREEN == 1 && SF_EVENT_FORECAST == 2, "event flags");
_Static_assert(SF_VERDICT_RELEVANT == 0 && SF_VERDICT_IRRELEVANT == 1 && SF_VERDICT_UNSURE == 2,
               "verdicts");
_Static_assert(SF_STATE_COLLECTING == 0 && SF_STATE_SCREENED_RELEVANT == 1 &&
                   SF_STATE_SCREENED_IRRELEVANT == 2 && SF_STATE_FORECAST_READY == 3,
               "states");
_Static_assert(sizeof(sf_state) == sizeof(int32_t) && sizeof(sf_verdict) == sizeof(int32_t),
               "codes are int32_t");

/* ------------------------------------------------------------------ helpers */

typedef struct decisions {
    sft_decision *d;
    size_t n, cap;
} decisions;

static sft_decision from_event(const sf_event *e)
{
    sft_decision d;
    d.flags = e->flags;
    d.stage = e->stage;
    d.frame = e->frame;
    d.verdict = e->verdict;
    d.halt = e->halt;
    d.advisory = e->advisory;
    d.ood = e->ood;
    d.confident = e->confident;
    d.within_tolerance = e->within_tolerance;
    d.evidence = e->evidence;
    d.tolerance = e->tolerance;
    d.vote = e->vote;
    d.score = e->score;
    d.cut = e->cut;
    d.mu_minus_sigma = e->mu_minus_sigma;
    d.mu_plus_sigma = e->mu_plus_sigma;
    d.mu_low = e->mu_low;
    d.mu_high = e->mu_high;
    d.level = e->level;
    return d;
}

static void append(decisions *ds, sft_decision d)
{
    if (ds->n == ds->cap) {
        ds->cap = ds->cap ? 2 * ds->cap : 16;
        sft_decision *bigger = realloc(ds->d, ds->cap * sizeof *bigger);
        if (!bigger) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        ds->d = bigger;
    }
    ds->d[ds->n++] = d;
}

static void clear(decisions *ds)
{
    free(ds->d);
    memset(ds, 0, sizeof *ds);
}

/* Pushes frames [from, to) of `t`; decisions (flags != 0) are appended to `out`. Returns the
 * number of pushes that did not return SF_OK. */
static size_t stream(sf_monitor *mon, const sft_trace *t, size_t from, size_t to, decisions *out)
{
    size_t bad = 0;
    for (size_t i = from; i < to; ++i) {
        sf_event ev;
        if (sf_monitor_push(mon, t->values[i], &ev) != SF_OK) {
            ++bad;
            continue;
        }
        if (ev.flags != 0)
            append(out, from_event(&ev));
    }
    return bad;
}

static int same_decision(const sft_decision *a, const sft_decision *b)
{
    return a->flags == b->flags && a->stage == b->stage && a->frame == b->frame &&
           a->verdict == b->verdict && a->halt == b->halt && a->advisory == b->advisory &&
           a->ood == b->ood && a->confident == b->confident &&
           a->within_tolerance == b->within_tolerance && a->evidence == b->evidence &&
           sft_close(a->tolerance, b->tolerance) && sft_close(a->vote, b->vote) && sft_close(a->score, b->score) &&
           sft_close(a->cut, b->cut) && sft_close(a->mu_minus_sigma, b->mu_minus_sigma) &&
           sft_close(a->mu_plus_sigma, b->mu_plus_sigma) && sft_close(a->mu_low, b->mu_low) &&
           sft_close(a->mu_high, b->mu_high) && sft_close(a->level, b->level);
}

/* The state the monitor must be in after `ds` (see crates/runtime/src/monitor.rs). */
static int expected_state(const decisions *ds)
{
    int irrelevant = 0, forecast = 0, relevant = 0;
    for (size_t i = 0; i < ds->n; ++i) {
        /* only a halting verdict screens the run out; an advisory one is information */
        if ((ds->d[i].flags & SF_EVENT_SCREEN) && ds->d[i].halt)
            irrelevant = 1;
        if ((ds->d[i].flags & SF_EVENT_SCREEN) && ds->d[i].verdict == SF_VERDICT_RELEVANT)
            relevant = 1;
        if (ds->d[i].flags & SF_EVENT_FORECAST)
            forecast = 1;
    }
    return irrelevant ? SF_STATE_SCREENED_IRRELEVANT
           : forecast ? SF_STATE_FORECAST_READY
           : relevant ? SF_STATE_SCREENED_RELEVANT
                      : SF_STATE_COLLECTING;
}

/* The frame of the first decision with `flag` (or halting, when flag is 0); 0 when none. */
static uint64_t first_frame(const decisions *ds, uint32_t flag)
{
    for (size_t i = 0; i < ds->n; ++i)
        if (flag ? (ds->d[i].flags & flag) != 0 : ds->d[i].halt)
            return ds->d[i].frame;
    return 0;
}

static uint64_t json_frame(const sft_json *doc, const char *key)
{
    const sft_json *v = sft_json_get(doc, key);
    return sft_json_is_null(v) ? 0 : (uint64_t)v->number;
}

/* All of predict's verdict on one trace against what the C ABI decided. */
static void compare(const decisions *got, const sft_json *doc, const sft_trace *t, const char *what)
{
    const sft_json *events = sft_json_get(doc, "events");
    SFT_CHECK(events && events->type == SFT_JSON_ARRAY, "%s: predict JSON has no events", what);
    if (!events || events->type != SFT_JSON_ARRAY)
        return;
    SFT_CHECK((double)t->n == sft_json_num(doc, "frames"), "%s: %zu frames read, predict read %.0f",
              what, t->n, sft_json_num(doc, "frames"));
    SFT_CHECK(got->n == events->n, "%s: %zu decisions, predict made %zu", what, got->n, events->n);
    for (size_t i = 0; i < got->n && i < events->n; ++i)
        sft_check_decision(&got->d[i], &events->items[i], t, what);
    SFT_CHECK(first_frame(got, 0) == json_frame(doc, "halt_frame"),
              "%s: halted at frame %llu, predict at %llu (0 = never)", what,
              (unsigned long long)first_frame(got, 0),
              (unsigned long long)json_frame(doc, "halt_frame"));
    SFT_CHECK(first_frame(got, SF_EVENT_FORECAST) == json_frame(doc, "forecast_frame"),
              "%s: forecast at frame %llu, predict at %llu (0 = never)", what,
              (unsigned long long)first_frame(got, SF_EVENT_FORECAST),
              (unsigned long long)json_frame(doc, "forecast_frame"));
}

typedef struct loaded {
    sft_trace t;
    sft_json *wide, *paper;
} loaded;

static int load_case(const sft_case *c, loaded *out)
{
    char err[512];
    memset(out, 0, sizeof *out);
    if (sft_trace_read(c->trace_path, &out->t, err, sizeof err) != 0) {
        SFT_CHECK(0, "%s", err);
        return -1;
    }
    out->wide = sft_json_parse_file(c->json_wide, err, sizeof err);
    SFT_CHECK(out->wide != NULL, "%s", err);
    out->paper = sft_json_parse_file(c->json_paper, err, sizeof err);
    SFT_CHECK(out->paper != NULL, "%s", err);
    return out->wide && out->paper ? 0 : -1;
}

static void free_case(loaded *l)
{
    sft_trace_free(&l->t);
    sft_json_free(l->wide);
    sft_json_free(l->paper);
}

static const char *last_error(void) { return sf_last_error(); }

/* ------------------------------------------------------------------ tests */

static void test_versions(void)
{
    SFT_CHECK(sf_abi_version() == SF_ABI_VERSION, "library ABI %d, header %d", sf_abi_version(),
              SF_ABI_VERSION);
    SFT_CHECK(sf_version() && strcmp(sf_version(), SF_EXPECTED_VERSION) == 0,
              "sf_version() '%s', the package is %s", sf_version() ? sf_version() : "(null)",
              SF_EXPECTED_VERSION);
}

static void test_model_queries(const sf_model *wide, const sf_model *paper, const sft_trace *t)
{
    uint64_t spacing = 0, window = 0;
    SFT_CHECK(sf_model_frame_spacing(wide, &spacing) == SF_OK, "%s", last_error());
    SFT_CHECK(t->n > 1 && spacing == (uint64_t)(t->steps[1] - t->steps[0]),
              "frame spacing %llu, the traces have one frame every %lld steps",
              (unsigned long long)spacing, t->n > 1 ? (long long)(t->steps[1] - t->steps[0]) : 0LL);
    SFT_CHECK(*last_error() == '\0', "a successful call leaves '%s' as the last error", last_error());
    SFT_CHECK(sf_model_max_window(wide, &window) == SF_OK && window > 0, "%s", last_error());
    uint64_t paper_window = 0;
    SFT_CHECK(sf_model_max_window(paper, &paper_window) == SF_OK && paper_window > 0, "%s",
              last_error());
    const char *card = sf_model_describe(wide);
    SFT_CHECK(sft_contains(card, "default preset") && sft_contains(card, "mu > 33.1") &&
                  sft_contains(card, "trained on 125 traces"),
              "model card: %s", card ? card : "(null)");
    /* The card has a line per fact and an entry per stage, and no sentinel of an absent value. */
    SFT_CHECK(sft_contains(card, "\nstages:\n  [0] screen at ") && sft_contains(card, "\nhalting    ") &&
                  !sft_contains(card, "e+308") && !sft_contains(card, "1.79") && !sft_contains(card, "NaN"),
              "model card: %s", card ? card : "(null)");
    SFT_CHECK(sft_contains(sf_model_describe(paper), "paper preset"), "paper card: %s",
              sf_model_describe(paper) ? sf_model_describe(paper) : "(null)");
}

/* Every held-out trace, both models: the decisions are predict's, and the monitor's state,
 * frame count and last event agree with them. */
static void test_held_out(const sf_model *wide, const sf_model *paper, const sft_fixture *fx)
{
    uint64_t max_window[2] = {0, 0}, last_decision[2] = {0, 0};
    sf_model_max_window(wide, &max_window[0]);
    sf_model_max_window(paper, &max_window[1]);
    size_t halts = 0, forecasts = 0, irrelevant = 0, relevant = 0, advisory = 0, no_cut = 0;
    for (size_t i = 0; i < fx->n; ++i) {
        loaded c;
        if (load_case(&fx->cases[i], &c) != 0) {
            free_case(&c);
            continue;
        }
        for (int m = 0; m < 2; ++m) {
            const sf_model *model = m ? paper : wide;
            char *what = sft_strdupf("%s [%s]", fx->cases[i].trace_path, m ? "paper" : "wide");
            sf_monitor *mon = sf_monitor_new(model);
            SFT_CHECK(mon != NULL, "%s: %s", what, last_error());
            decisions got = {0};
            size_t bad = stream(mon, &c.t, 0, c.t.n, &got);
            SFT_CHECK(bad == 0, "%s: %zu pushes failed: %s", what, bad, last_error());
            compare(&got, m ? c.paper : c.wide, &c.t, what);

            uint64_t frames = 0;
            int32_t state = -1;
            sf_event last;
            SFT_CHECK(sf_monitor_frames(mon, &frames) == SF_OK && frames == c.t.n,
                      "%s: %llu frames counted, %zu pushed", what, (unsigned long long)frames, c.t.n);
            SFT_CHECK(sf_monitor_state(mon, &state) == SF_OK && state == expected_state(&got),
                      "%s: state %d, the decisions imply %d", what, state, expected_state(&got));
            SFT_CHECK(sf_monitor_last_event(mon, &last) == SF_OK, "%s", last_error());
            if (got.n) {
                sft_decision l = from_event(&last);
                SFT_CHECK(same_decision(&l, &got.d[got.n - 1]), "%s: last_event differs from the last decision",
                          what);
                SFT_CHECK(got.d[got.n - 1].frame <= max_window[m], "%s: decision at frame %llu > max window %llu",
                          what, (unsigned long long)got.d[got.n - 1].frame,
                          (unsigned long long)max_window[m]);
                if (got.d[got.n - 1].frame > last_decision[m])
                    last_decision[m] = got.d[got.n - 1].frame;
            }
            for (size_t k = 0; k < got.n; ++k) {
                const sft_decision *d = &got.d[k];
                halts += d->halt;
                forecasts += (d->flags & SF_EVENT_FORECAST) != 0;
                if (d->flags & SF_EVENT_SCREEN) {
                    irrelevant += d->verdict == SF_VERDICT_IRRELEVANT;
                    relevant += d->verdict == SF_VERDICT_RELEVANT;
                    advisory += d->advisory;
                    no_cut += isnan(d->cut); /* a stage without a cut (predict: null) */
                }
            }
            clear(&got);
            sf_monitor_free(mon);
            free(what);
        }
        free_case(&c);
    }
    /* Stages exist up to max_window; the paper model's last one always decides on some trace
     * (the default's last regression stage speaks only when it forecasts a run no earlier window
     * pinned, so it may stay silent). */
    SFT_CHECK(last_decision[0] <= max_window[0] && last_decision[1] == max_window[1],
              "last decisions at frames %llu/%llu, max windows %llu/%llu",
              (unsigned long long)last_decision[0], (unsigned long long)last_decision[1],
              (unsigned long long)max_window[0], (unsigned long long)max_window[1]);
    /* The comparison covered every kind of decision. */
    SFT_CHECK(halts > 0 && forecasts > 0 && irrelevant > 0 && relevant > 0 && advisory > 0 && no_cut > 0,
              "held-out decisions: %zu halts, %zu forecasts, %zu irrelevant, %zu relevant, %zu advisory, "
              "%zu without a cut",
              halts, forecasts, irrelevant, relevant, advisory, no_cut);
    printf("held-out: %zu traces x 2 models: %zu halts, %zu forecasts, %zu irrelevant, %zu relevant "
           "(%zu advisory screening decisions)\n",
           fx->n, halts, forecasts, irrelevant, relevant, advisory);
}

/* NaN and infinities: SF_ERR_NON_FINITE, and the monitor is exactly as before (then the trace
 * still gives predict's decisions). Injected before a stage's window fills, too. */
static void test_non_finite(const sf_model *model, const loaded *c, const sft_json *doc)
{
    const double bad[3] = {NAN, INFINITY, -INFINITY};
    const size_t at[] = {0, 49, 99, 100, 149, 299};
    sf_monitor *mon = sf_monitor_new(model);
    decisions got = {0};
    size_t next = 0, failures = 0;
    for (size_t a = 0; a < sizeof at / sizeof at[0]; ++a) {
        failures += stream(mon, &c->t, next, at[a], &got);
        next = at[a];
        uint64_t before = 0, after = 0;
        int32_t s_before = -1, s_after = -1;
        sf_event e_before, e_after;
        sf_monitor_frames(mon, &before);
        sf_monitor_state(mon, &s_before);
        sf_monitor_last_event(mon, &e_before);
        for (int b = 0; b < 3; ++b) {
            sf_event ev;
            int rc = sf_monitor_push(mon, bad[b], &ev);
            SFT_CHECK(rc == SF_ERR_NON_FINITE, "push(%g) at frame %zu returned %d", bad[b], at[a], rc);
            SFT_CHECK(sft_contains(last_error(), "non-finite"), "push(%g): error '%s'", bad[b],
                      last_error());
        }
        sf_monitor_frames(mon, &after);
        sf_monitor_state(mon, &s_after);
        sf_monitor_last_event(mon, &e_after);
        sft_decision db = from_event(&e_before), da = from_event(&e_after);
        SFT_CHECK(after == before && s_after == s_before && same_decision(&db, &da),
                  "non-finite values at frame %zu changed the monitor (%llu -> %llu frames)", at[a],
                  (unsigned long long)before, (unsigned long long)after);
    }
    failures += stream(mon, &c->t, next, c->t.n, &got);
    SFT_CHECK(failures == 0, "%zu finite pushes failed", failures);
    compare(&got, doc, &c->t, "stream with NaN/Inf injected");
    clear(&got);
    sf_monitor_free(mon);
}

static unsigned char *save(const sf_monitor *mon, size_t *len)
{
    *len = 0;
    if (sf_monitor_save_state(mon, NULL, 0, len) != SF_OK) {
        SFT_CHECK(0, "state size query: %s", last_error());
        return NULL;
    }
    unsigned char *buf = malloc(*len ? *len : 1);
    size_t len2 = 0;
    SFT_CHECK(sf_monitor_save_state(mon, buf, *len, &len2) == SF_OK && len2 == *len,
              "save_state: %s", last_error());
    return buf;
}

/* Save after k frames, load into a monitor of the same model loaded again (a restarted
 * simulation), continue: the decisions are predict's for every k, including k = 0, k at a
 * stage's window and k = the whole trace. */
static void test_state_round_trip(const char *model_path, const loaded *c, const sft_json *doc,
                                  const char *label)
{
    sf_model *model = sf_model_load(model_path);
    SFT_CHECK(model != NULL, "%s", last_error());
    if (!model)
        return;
    const size_t splits[] = {0, 1, 49, 50, 99, 100, 101, 150, 299, 300, c->t.n};
    for (size_t s = 0; s < sizeof splits / sizeof splits[0]; ++s) {
        size_t k = splits[s] <= c->t.n ? splits[s] : c->t.n;
        char *what = sft_strdupf("%s: restart after %zu frames", label, k);
        sf_monitor *first = sf_monitor_new(model);
        decisions got = {0};
        size_t failures = stream(first, &c->t, 0, k, &got);
        size_t len = 0;
        unsigned char *bytes = save(first, &len);

        sf_model *again = sf_model_load(model_path);
        sf_monitor *second = sf_monitor_new(again);
        sf_model_free(again); /* the monitor keeps the model alive */
        SFT_CHECK(bytes && sf_monitor_load_state(second, bytes, len) == SF_OK, "%s: %s", what,
                  last_error());
        uint64_t f1 = 0, f2 = 0;
        int32_t s1 = -1, s2 = -2;
        sf_event e1, e2;
        sf_monitor_frames(first, &f1);
        sf_monitor_frames(second, &f2);
        sf_monitor_state(first, &s1);
        sf_monitor_state(second, &s2);
        sf_monitor_last_event(first, &e1);
        sf_monitor_last_event(second, &e2);
        sft_decision d1 = from_event(&e1), d2 = from_event(&e2);
        SFT_CHECK(f1 == k && f2 == k && s1 == s2 && same_decision(&d1, &d2),
                  "%s: restored monitor differs (%llu/%llu frames, states %d/%d)", what,
                  (unsigned long long)f1, (unsigned long long)f2, s1, s2);
        failures += stream(second, &c->t, k, c->t.n, &got);
        SFT_CHECK(failures == 0, "%s: %zu pushes failed", what, failures);
        compare(&got, doc, &c->t, what);
        clear(&got);
        free(bytes);
        sf_monitor_free(first);
        sf_monitor_free(second);
        free(what);
    }
    sf_model_free(model);
}

/* Bad state bytes: SF_ERR_STATE with the reason, the monitor unchanged, and it still streams
 * predict's decisions afterwards. */
static void test_bad_state(const sf_model *wide, const sf_model *paper, const loaded *c)
{
    const size_t k = 120;
    sf_monitor *w = sf_monitor_new(wide);
    sf_monitor *p = sf_monitor_new(paper);
    decisions got = {0};
    decisions ignored = {0};
    size_t failures = stream(p, &c->t, 0, k, &got) + stream(w, &c->t, 0, k, &ignored);
    clear(&ignored);
    size_t wlen = 0, plen = 0;
    unsigned char *wbytes = save(w, &wlen);
    unsigned char *pbytes = save(p, &plen);
    if (!wbytes || !pbytes || plen < 16) {
        SFT_CHECK(0, "could not save states (%zu bytes)", plen);
        free(wbytes);
        free(pbytes);
        clear(&got);
        sf_monitor_free(w);
        sf_monitor_free(p);
        return;
    }

    /* Size query and a short buffer. */
    size_t need = 0;
    SFT_CHECK(sf_monitor_save_state(p, NULL, 0, &need) == SF_OK && need == plen, "size query");
    unsigned char *small = malloc(plen);
    memset(small, 0x5A, plen);
    size_t got_len = 0;
    int rc = sf_monitor_save_state(p, small, plen - 1, &got_len);
    int untouched = 1;
    for (size_t i = 0; i < plen; ++i)
        untouched &= small[i] == 0x5A;
    SFT_CHECK(rc == SF_ERR_BUFFER && got_len == plen && untouched &&
                  sft_contains(last_error(), "needed"),
              "short buffer: rc %d, len %zu (need %zu), untouched %d, '%s'", rc, got_len, plen,
              untouched, last_error());
    free(small);

    struct {
        const char *what;
        unsigned char *bytes;
        size_t len;
        const char *message;
    } cases[8];
    size_t n = 0;
    /* Saved by a monitor of another model. */
    cases[n].what = "another model's state";
    cases[n].bytes = malloc(wlen);
    memcpy(cases[n].bytes, wbytes, wlen);
    cases[n].len = wlen;
    cases[n++].message = "different model";
    /* Wrong magic. */
    cases[n].what = "wrong magic";
    cases[n].bytes = malloc(plen);
    memcpy(cases[n].bytes, pbytes, plen);
    cases[n].bytes[0] ^= 0x20;
    cases[n].len = plen;
    cases[n++].message = "not a simforecast monitor state";
    /* Too short for the header. */
    cases[n].what = "11 bytes";
    cases[n].bytes = malloc(plen);
    memcpy(cases[n].bytes, pbytes, plen);
    cases[n].len = 11;
    cases[n++].message = "not a simforecast monitor state";
    /* Truncated payload. */
    cases[n].what = "truncated";
    cases[n].bytes = malloc(plen);
    memcpy(cases[n].bytes, pbytes, plen);
    cases[n].len = plen - 3;
    cases[n++].message = "corrupted";
    /* Empty. */
    cases[n].what = "0 bytes";
    cases[n].bytes = malloc(1);
    cases[n].len = 0;
    cases[n++].message = "not a simforecast monitor state";
    /* A flipped fingerprint byte. */
    cases[n].what = "flipped fingerprint";
    cases[n].bytes = malloc(plen);
    memcpy(cases[n].bytes, pbytes, plen);
    cases[n].bytes[9] ^= 0x01;
    cases[n].len = plen;
    cases[n++].message = "different model";
    /* Garbage after a valid header. */
    cases[n].what = "garbage payload";
    cases[n].bytes = malloc(plen);
    memcpy(cases[n].bytes, pbytes, plen);
    for (size_t i = 12; i < plen; ++i)
        cases[n].bytes[i] = 0xFF;
    cases[n].len = plen;
    cases[n++].message = "monitor state";

    uint64_t f_before = 0;
    int32_t s_before = -1;
    sf_monitor_frames(p, &f_before);
    sf_monitor_state(p, &s_before);
    for (size_t i = 0; i < n; ++i) {
        rc = sf_monitor_load_state(p, cases[i].bytes, cases[i].len);
        SFT_CHECK(rc == SF_ERR_STATE && sft_contains(last_error(), cases[i].message),
                  "%s: rc %d, error '%s' (expected SF_ERR_STATE, '%s')", cases[i].what, rc,
                  last_error(), cases[i].message);
        uint64_t f = 0;
        int32_t s = -1;
        sf_monitor_frames(p, &f);
        sf_monitor_state(p, &s);
        SFT_CHECK(f == f_before && s == s_before, "%s changed the monitor", cases[i].what);
        free(cases[i].bytes);
    }
    failures += stream(p, &c->t, k, c->t.n, &got);
    SFT_CHECK(failures == 0, "%zu pushes failed", failures);
    compare(&got, c->paper, &c->t, "after refused states");
    clear(&got);
    free(wbytes);
    free(pbytes);
    sf_monitor_free(w);
    sf_monitor_free(p);
}

/* reset(): a new trace with the same model; a halted trace then a normal one, then the first
 * again, each gives predict's decisions. */
static void test_reset(const sf_model *paper, const loaded *halting, const loaded *other)
{
    sf_monitor *mon = sf_monitor_new(paper);
    const loaded *order[3] = {halting, other, halting};
    for (int r = 0; r < 3; ++r) {
        if (r > 0) {
            SFT_CHECK(sf_monitor_reset(mon) == SF_OK, "reset: %s", last_error());
            uint64_t frames = 1;
            int32_t state = -1;
            sf_event last;
            sf_monitor_frames(mon, &frames);
            sf_monitor_state(mon, &state);
            sf_monitor_last_event(mon, &last);
            SFT_CHECK(frames == 0 && state == SF_STATE_COLLECTING && last.flags == 0 &&
                          last.frame == 0 && !last.halt,
                      "after reset: %llu frames, state %d, last event flags %u", (unsigned long long)frames,
                      state, last.flags);
        }
        decisions got = {0};
        size_t failures = stream(mon, &order[r]->t, 0, order[r]->t.n, &got);
        SFT_CHECK(failures == 0, "%zu pushes failed", failures);
        char *what = sft_strdupf("pass %d after %d resets", r + 1, r);
        compare(&got, order[r]->paper, &order[r]->t, what);
        free(what);
        clear(&got);
    }
    sf_monitor_free(mon);
}

/* A monitor holds its own reference to the model: free the model first, stream on. */
static void test_model_freed_first(const char *path, const loaded *c)
{
    sf_model *model = sf_model_load(path);
    sf_monitor *mon = sf_monitor_new(model);
    sf_model_free(model);
    decisions got = {0};
    size_t failures = stream(mon, &c->t, 0, c->t.n, &got);
    SFT_CHECK(mon && failures == 0, "%zu pushes failed", failures);
    compare(&got, c->wide, &c->t, "model freed before its monitor");
    clear(&got);
    sf_monitor_free(mon);
}

/* Every pointer argument NULL in turn: SF_ERR_NULL (or NULL) and a message naming it; a
 * successful call afterwards clears the message; frees of NULL do nothing. */
static void test_nulls(const sf_model *model)
{
    uint64_t u = 0;
    int32_t s = 0;
    size_t len = 0;
    sf_event ev;
    unsigned char buf[64];

#define EXPECT_NULL(call, name)                                                                    \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        SFT_CHECK(rc_ == SF_ERR_NULL && sft_contains(last_error(), name) &&                        \
                      sft_contains(last_error(), "NULL"),                                          \
                  "%s returned %d, error '%s'", #call, rc_, last_error());                         \
    } while (0)

    SFT_CHECK(sf_model_load(NULL) == NULL && sft_contains(last_error(), "model path is NULL"),
              "sf_model_load(NULL): '%s'", last_error());
    sf_model_free(NULL);
    sf_monitor_free(NULL);
    EXPECT_NULL(sf_model_frame_spacing(NULL, &u), "model");
    EXPECT_NULL(sf_model_frame_spacing(model, NULL), "steps");
    EXPECT_NULL(sf_model_max_window(NULL, &u), "model");
    EXPECT_NULL(sf_model_max_window(model, NULL), "frames");
    SFT_CHECK(sf_model_describe(NULL) == NULL && sft_contains(last_error(), "model is NULL"),
              "sf_model_describe(NULL): '%s'", last_error());
    SFT_CHECK(sf_monitor_new(NULL) == NULL && sft_contains(last_error(), "model is NULL"),
              "sf_monitor_new(NULL): '%s'", last_error());

    sf_monitor *mon = sf_monitor_new(model);
    SFT_CHECK(mon != NULL, "%s", last_error());
    EXPECT_NULL(sf_monitor_push(NULL, 1.0, &ev), "monitor");
    EXPECT_NULL(sf_monitor_push(mon, 1.0, NULL), "event output");
    EXPECT_NULL(sf_monitor_state(NULL, &s), "monitor");
    EXPECT_NULL(sf_monitor_state(mon, NULL), "state");
    EXPECT_NULL(sf_monitor_frames(NULL, &u), "monitor");
    EXPECT_NULL(sf_monitor_frames(mon, NULL), "frames");
    EXPECT_NULL(sf_monitor_last_event(NULL, &ev), "monitor");
    EXPECT_NULL(sf_monitor_last_event(mon, NULL), "event output");
    EXPECT_NULL(sf_monitor_reset(NULL), "monitor");
    EXPECT_NULL(sf_monitor_save_state(NULL, buf, sizeof buf, &len), "monitor");
    EXPECT_NULL(sf_monitor_save_state(mon, buf, sizeof buf, NULL), "length output");
    EXPECT_NULL(sf_monitor_save_state(mon, NULL, sizeof buf, &len), "state buffer");
    EXPECT_NULL(sf_monitor_load_state(NULL, buf, sizeof buf), "monitor");
    EXPECT_NULL(sf_monitor_load_state(mon, NULL, 12), "state buffer");
    /* A push with a NULL output did not count a frame. */
    SFT_CHECK(sf_monitor_frames(mon, &u) == SF_OK && u == 0, "%llu frames after refused pushes",
              (unsigned long long)u);
    SFT_CHECK(*last_error() == '\0', "the last error after a success is '%s'", last_error());
    sf_monitor_free(mon);
#undef EXPECT_NULL
}

static void expect_load_fails(const char *path, const char *what, const char *message)
{
    sf_model *m = sf_model_load(path);
    SFT_CHECK(m == NULL, "%s: loaded", what);
    SFT_CHECK(sft_contains(last_error(), message), "%s: error '%s', expected '%s'", what,
              last_error(), message);
    sf_model_free(m);
}

/* Broken model files: each is refused with a message that says what is wrong with it. */
static void test_bad_model_files(const char *good_path, const char *scratch, const char *trace_path)
{
    size_t len = 0;
    unsigned char *good = sft_read_file(good_path, &len);
    SFT_CHECK(good && len > 64, "cannot read %s", good_path);
    if (!good || len <= 64) {
        free(good);
        return;
    }
    unsigned char *b = malloc(len);

    expect_load_fails("\xff\xfe/model.sfm", "non-UTF-8 path", "not valid UTF-8");
    char *missing = sft_strdupf("%s/no-such-model.sfm", scratch);
    expect_load_fails(missing, "missing file", "cannot read model file");
    SFT_CHECK(sft_contains(last_error(), missing), "the error does not name the file: '%s'",
              last_error());
    free(missing);
    expect_load_fails(scratch, "a directory", "cannot read model file");
    expect_load_fails(trace_path, "a trace file", "not a simforecast model file");

    struct {
        const char *name, *what, *message;
        size_t len;
        void (*mutate)(unsigned char *, size_t);
    } files[] = {
        {"empty.sfm", "empty file", "truncated", 0, NULL},
        {"header-only.sfm", "header only", "truncated", 20, NULL},
        {"half.sfm", "half a file", "truncated", len / 2, NULL},
        {"short.sfm", "last byte missing", "truncated", len - 1, NULL},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; ++i) {
        char *p = sft_strdupf("%s/%s", scratch, files[i].name);
        SFT_CHECK(sft_write_file(p, good, files[i].len) == 0, "cannot write %s", p);
        expect_load_fails(p, files[i].what, files[i].message);
        SFT_CHECK(sft_contains(last_error(), p), "%s: the error does not name the file", files[i].what);
        free(p);
    }

    /* One flipped bit in the middle: the checksum catches it. */
    memcpy(b, good, len);
    b[len / 2] ^= 0x40;
    char *p = sft_strdupf("%s/flipped.sfm", scratch);
    sft_write_file(p, b, len);
    expect_load_fails(p, "flipped byte", "corrupted");
    free(p);

    /* A valid checksum over a payload that does not decode. */
    memcpy(b, good, len);
    for (size_t i = 20; i < 60; ++i)
        b[i] = 0xFF;
    uint32_t crc = sft_crc32(b, len - 4);
    for (int k = 0; k < 4; ++k)
        b[len - 4 + k] = (unsigned char)(crc >> (8 * k));
    p = sft_strdupf("%s/garbage.sfm", scratch);
    sft_write_file(p, b, len);
    expect_load_fails(p, "undecodable payload", "corrupted");
    free(p);

    /* Format versions (bytes 8..11, little-endian): a newer one and one no longer read. */
    uint32_t version = (uint32_t)good[8] | (uint32_t)good[9] << 8 | (uint32_t)good[10] << 16 |
                       (uint32_t)good[11] << 24;
    const uint32_t versions[2] = {version + 1, 0};
    const char *messages[2] = {"upgrade simforecast", "retrain"};
    for (int v = 0; v < 2; ++v) {
        memcpy(b, good, len);
        for (int k = 0; k < 4; ++k)
            b[8 + k] = (unsigned char)(versions[v] >> (8 * k));
        p = sft_strdupf("%s/version-%u.sfm", scratch, versions[v]);
        sft_write_file(p, b, len);
        expect_load_fails(p, "wrong version", messages[v]);
        free(p);
    }

    /* Foreign bytes of the right size. */
    memcpy(b, good, len);
    memcpy(b, "NOTAMODL", 8);
    p = sft_strdupf("%s/foreign.sfm", scratch);
    sft_write_file(p, b, len);
    expect_load_fails(p, "wrong magic", "not a simforecast model file");
    free(p);

    /* The good bytes copied elsewhere still load. */
    p = sft_strdupf("%s/copy.sfm", scratch);
    sft_write_file(p, good, len);
    sf_model *m = sf_model_load(p);
    SFT_CHECK(m != NULL && *last_error() == '\0', "a copy of the model: %s", last_error());
    sf_model_free(m);
    free(p);
    free(b);
    free(good);
}

/* The last error is per thread; a model is shared by monitors on several threads. */
typedef struct thread_job {
    const sf_model *model;
    const sft_trace *trace;
    decisions got;
    size_t failures;
    char first_error[256];
    char own_error[256];
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *job = arg;
    snprintf(job->first_error, sizeof job->first_error, "%s", sf_last_error());
    sf_monitor *mon = sf_monitor_new(job->model);
    job->failures = stream(mon, job->trace, 0, job->trace->n, &job->got);
    sf_monitor_free(mon);
    sf_monitor_reset(NULL);
    snprintf(job->own_error, sizeof job->own_error, "%s", sf_last_error());
    return NULL;
}

static void test_threads(const sf_model *model, const loaded *a, const loaded *b)
{
    sf_model_load(NULL); /* this thread's error */
    thread_job jobs[2];
    pthread_t th[2];
    const loaded *cases[2] = {a, b};
    for (int i = 0; i < 2; ++i) {
        memset(&jobs[i], 0, sizeof jobs[i]);
        jobs[i].model = model;
        jobs[i].trace = &cases[i]->t;
        SFT_CHECK(pthread_create(&th[i], NULL, thread_main, &jobs[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 2; ++i) {
        pthread_join(th[i], NULL);
        SFT_CHECK(jobs[i].first_error[0] == '\0', "a new thread sees another thread's error '%s'",
                  jobs[i].first_error);
        SFT_CHECK(sft_contains(jobs[i].own_error, "monitor is NULL"), "thread error '%s'",
                  jobs[i].own_error);
        SFT_CHECK(jobs[i].failures == 0, "%zu pushes failed in a thread", jobs[i].failures);
        compare(&jobs[i].got, cases[i]->wide, &cases[i]->t, "streamed on another thread");
        clear(&jobs[i].got);
    }
    SFT_CHECK(sft_contains(sf_last_error(), "model path is NULL"),
              "this thread's error was changed by others: '%s'", sf_last_error());
}

/* The tolerance: the model's default and range, a monitor's setting (refused outside the range,
 * the monitor unchanged; kept by reset; back to the model's by sf_monitor_reset_tolerance), and
 * what it decides on every held-out trace: a forecast says the tolerance in force and lies
 * within it, and a tight tolerance forecasts fewer runs than a loose one. (Per run a tighter
 * tolerance need not forecast later: each tolerance has its own calibrated quantile.) */
static double half_width(const sf_event *e)
{
    const double mid = 0.5 * (e->mu_low + e->mu_high);
    return 0.5 * (e->mu_high - e->mu_low) / fabs(mid);
}

/* The first forecast of the trace under `model` at tolerance `t` (NaN: the model's); its frame
 * (0 = none) and event in *out. */
static uint64_t forecast_at(const sf_model *model, double t, const sft_trace *tr, sf_event *out,
                            const char *what)
{
    sf_monitor *mon = sf_monitor_new(model);
    SFT_CHECK(mon != NULL, "%s", last_error());
    if (!mon)
        return 0;
    if (!isnan(t))
        SFT_CHECK(sf_monitor_set_tolerance(mon, t) == SF_OK, "%s: tolerance %g: %s", what, t,
                  last_error());
    uint64_t frame = 0;
    for (size_t i = 0; i < tr->n && !frame; ++i) {
        sf_event ev;
        SFT_CHECK(sf_monitor_push(mon, tr->values[i], &ev) == SF_OK, "%s", last_error());
        if (ev.flags & SF_EVENT_FORECAST) {
            frame = ev.frame;
            *out = ev;
        }
    }
    sf_monitor_free(mon);
    return frame;
}

static void test_tolerance(const sf_model *wide, const sf_model *paper, const sft_fixture *fx)
{
    double t = 0, lo = 0, hi = 0;
    SFT_CHECK(sf_model_tolerance(wide, &t, &lo, &hi) == SF_OK, "%s", last_error());
    SFT_CHECK(t == 0.25 && lo == 0.05 && hi == 1.0,
              "the default model's tolerance %g, calibrated for %g..%g (want 0.25, 0.05..1)", t, lo,
              hi);
    SFT_CHECK(sf_model_tolerance(wide, NULL, NULL, &hi) == SF_OK && hi == 1.0,
              "outputs may be NULL: %s", last_error());
    /* the paper preset: no tolerance (forecasts at any width), any tolerance accepted */
    SFT_CHECK(sf_model_tolerance(paper, &t, &lo, &hi) == SF_OK && isnan(t) && isnan(lo) && isnan(hi),
              "paper model: tolerance %g, range %g..%g (want NaN)", t, lo, hi);
    SFT_CHECK(sf_model_tolerance(NULL, &t, NULL, NULL) == SF_ERR_NULL, "NULL model");

    sf_monitor *mon = sf_monitor_new(wide);
    SFT_CHECK(sf_monitor_tolerance(mon, &t) == SF_OK && t == 0.25, "in force %g, want 0.25", t);
    SFT_CHECK(sf_monitor_set_tolerance(mon, 0.5) == SF_OK && sf_monitor_tolerance(mon, &t) == SF_OK &&
                  t == 0.5,
              "set 0.5: in force %g (%s)", t, last_error());
    const double bad[] = {NAN, INFINITY, 0.0, -0.25, 0.01, 1.5};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        int status = sf_monitor_set_tolerance(mon, bad[i]);
        SFT_CHECK(status == SF_ERR_INVALID && sft_contains(last_error(), "tolerance"),
                  "tolerance %g: status %d, '%s'", bad[i], status, last_error());
        SFT_CHECK(sf_monitor_tolerance(mon, &t) == SF_OK && t == 0.5,
                  "a refused tolerance %g changed the one in force to %g", bad[i], t);
    }
    SFT_CHECK(sf_monitor_set_tolerance(mon, 1.5) == SF_ERR_INVALID &&
                  sft_contains(last_error(), "0.05") && sft_contains(last_error(), "1"),
              "out of range names the range: '%s'", last_error());
    SFT_CHECK(sf_monitor_reset(mon) == SF_OK && sf_monitor_tolerance(mon, &t) == SF_OK && t == 0.5,
              "reset kept tolerance %g, want 0.5", t);
    SFT_CHECK(sf_monitor_reset_tolerance(mon) == SF_OK && sf_monitor_tolerance(mon, &t) == SF_OK &&
                  t == 0.25,
              "reset_tolerance: %g, want the model's 0.25", t);
    sf_monitor_free(mon);
    SFT_CHECK(sf_monitor_set_tolerance(NULL, 0.5) == SF_ERR_NULL &&
                  sf_monitor_reset_tolerance(NULL) == SF_ERR_NULL &&
                  sf_monitor_tolerance(NULL, &t) == SF_ERR_NULL,
              "NULL monitor");

    /* a KNN model takes any positive tolerance */
    sf_monitor *pm = sf_monitor_new(paper);
    SFT_CHECK(sf_monitor_set_tolerance(pm, 3.0) == SF_OK && sf_monitor_set_tolerance(pm, 0.0) == SF_ERR_INVALID,
              "paper model: %s", last_error());
    sf_monitor_free(pm);

    size_t loose = 0, tight = 0, earlier = 0;
    for (size_t i = 0; i < fx->n; ++i) {
        char err[512];
        sft_trace tr;
        if (sft_trace_read(fx->cases[i].trace_path, &tr, err, sizeof err) != 0) {
            SFT_CHECK(0, "%s", err);
            continue;
        }
        sf_event a, b;
        const uint64_t fa = forecast_at(wide, 1.0, &tr, &a, fx->cases[i].trace_path);
        const uint64_t fb = forecast_at(wide, 0.1, &tr, &b, fx->cases[i].trace_path);
        const sf_event *evs[2] = {&a, &b};
        const double ts[2] = {1.0, 0.1};
        const uint64_t fs[2] = {fa, fb};
        for (int k = 0; k < 2; ++k) {
            if (!fs[k])
                continue;
            const sf_event *e = evs[k];
            SFT_CHECK(e->tolerance == ts[k] && e->within_tolerance && e->confident &&
                          e->evidence == SF_EVIDENCE_MODEL && half_width(e) <= ts[k] * (1 + 1e-12),
                      "%s at tolerance %g: forecast at frame %llu says tolerance %g, within %d, "
                      "confident %d, evidence %d, relative half-width %g",
                      fx->cases[i].trace_path, ts[k], (unsigned long long)fs[k], e->tolerance,
                      e->within_tolerance, e->confident, e->evidence, half_width(e));
        }
        loose += fa != 0;
        tight += fb != 0;
        earlier += fa && (!fb || fa < fb);
        sft_trace_free(&tr);
    }
    SFT_CHECK(loose > tight && earlier > 0,
              "held-out forecasts: %zu at tolerance 1.0, %zu at 0.1 (%zu earlier at 1.0)", loose,
              tight, earlier);
    printf("tolerance: %zu traces forecast at 1.0, %zu at 0.1, %zu of them earlier at 1.0\n", loose,
           tight, earlier);
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <fixture dir> <scratch dir>\n", argv[0]);
        return 2;
    }
    const char *scratch = argv[2];
    mkdir(scratch, 0777);
    char err[512];
    sft_fixture fx;
    if (sft_fixture_read(argv[1], &fx, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }

    test_versions();
    sf_model *wide = sf_model_load(fx.wide_model);
    SFT_CHECK(wide != NULL, "%s", last_error());
    sf_model *paper = sf_model_load(fx.paper_model);
    SFT_CHECK(paper != NULL, "%s", last_error());
    if (!wide || !paper) {
        sf_model_free(wide);
        sf_model_free(paper);
        sft_fixture_free(&fx);
        return sft_summary("test_c_api");
    }

    /* Pick a held-out trace the paper model halts, and one it does not halt. */
    loaded halting = {0}, plain = {0};
    int have_halting = 0, have_plain = 0;
    for (size_t i = 0; i < fx.n && !(have_halting && have_plain); ++i) {
        loaded c;
        if (load_case(&fx.cases[i], &c) != 0) {
            free_case(&c);
            continue;
        }
        int halts = json_frame(c.paper, "halt_frame") != 0;
        if (halts && !have_halting) {
            halting = c;
            have_halting = 1;
        } else if (!halts && !have_plain) {
            plain = c;
            have_plain = 1;
        } else {
            free_case(&c);
        }
    }
    SFT_CHECK(have_halting && have_plain, "the fixture needs a halted and a non-halted trace");

    if (have_halting && have_plain) {
        test_model_queries(wide, paper, &plain.t);
        test_held_out(wide, paper, &fx);
        test_tolerance(wide, paper, &fx);
        test_non_finite(wide, &plain, plain.wide);
        test_non_finite(paper, &halting, halting.paper);
        test_state_round_trip(fx.wide_model, &plain, plain.wide, "wide");
        test_state_round_trip(fx.paper_model, &halting, halting.paper, "paper, halted trace");
        test_bad_state(wide, paper, &halting);
        test_reset(paper, &halting, &plain);
        test_model_freed_first(fx.wide_model, &plain);
        test_threads(wide, &halting, &plain);
    }
    test_nulls(wide);
    test_bad_model_files(fx.wide_model, scratch, fx.cases[0].trace_path);
    test_convergence(&fx, argv[1]);

    free_case(&halting);
    free_case(&plain);
    sf_model_free(wide);
    sf_model_free(paper);
    sft_fixture_free(&fx);
    return sft_summary("test_c_api");
}
