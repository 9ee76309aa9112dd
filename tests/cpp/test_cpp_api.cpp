// The C++ API (cxx) against real models: every held-out trace streamed through Monitor::push
// gives exactly the decisions of `simforecast predict --json` (the Rust API's Monitor, replayed by
// the CLI), under two models; bad inputs throw rust::Error carrying the library's message; RAII
// owners free everything once; monitor state moves between the C++ and the C API. The model-free
// Convergence checks every held-out trace exactly as the C ABI's sf_convergence does.
//
//   test_cpp_api <fixture dir> <scratch dir>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "simforecast.h"   // the C ABI, for cross-checks (both headers in one translation unit)
#include "simforecast.hpp" // the C++ API
#include "sftest.h"

#ifndef SF_EXPECTED_VERSION
#error "build with -DSF_EXPECTED_VERSION=\"<crate version>\""
#endif

using simforecast::Convergence;
using simforecast::ConvergenceParams;
using simforecast::ConvergenceResult;
using simforecast::Event;
using simforecast::Model;
using simforecast::Monitor;

// The C++ constants are the C header's numbers.
static_assert(simforecast::EVENT_SCREEN == SF_EVENT_SCREEN && simforecast::EVENT_FORECAST == SF_EVENT_FORECAST,
              "event flags");
static_assert(simforecast::VERDICT_RELEVANT == SF_VERDICT_RELEVANT &&
                  simforecast::VERDICT_IRRELEVANT == SF_VERDICT_IRRELEVANT &&
                  simforecast::VERDICT_UNSURE == SF_VERDICT_UNSURE,
              "verdicts");
static_assert(simforecast::STATE_COLLECTING == SF_STATE_COLLECTING &&
                  simforecast::STATE_SCREENED_RELEVANT == SF_STATE_SCREENED_RELEVANT &&
                  simforecast::STATE_SCREENED_IRRELEVANT == SF_STATE_SCREENED_IRRELEVANT &&
                  simforecast::STATE_FORECAST_READY == SF_STATE_FORECAST_READY,
              "states");
static_assert(simforecast::CONVERGENCE_VERDICT_CONVERGED == SF_CONVERGENCE_VERDICT_CONVERGED &&
                  simforecast::CONVERGENCE_VERDICT_TOO_FEW_BLOCKS == SF_CONVERGENCE_VERDICT_TOO_FEW_BLOCKS &&
                  simforecast::CONVERGENCE_VERDICT_TOO_FEW_FRAMES == SF_CONVERGENCE_VERDICT_TOO_FEW_FRAMES &&
                  simforecast::CONVERGENCE_VERDICT_ZERO_MEAN == SF_CONVERGENCE_VERDICT_ZERO_MEAN &&
                  simforecast::CONVERGENCE_VERDICT_TOO_WIDE == SF_CONVERGENCE_VERDICT_TOO_WIDE &&
                  simforecast::CONVERGENCE_VERDICT_DRIFTING == SF_CONVERGENCE_VERDICT_DRIFTING,
              "convergence verdicts");
static_assert(simforecast::EQUILIBRATION_MAX_EFFECTIVE_SAMPLES == SF_EQUILIBRATION_MAX_EFFECTIVE_SAMPLES &&
                  simforecast::EQUILIBRATION_MSER == SF_EQUILIBRATION_MSER,
              "equilibration");
// Owners are move-only.
static_assert(!std::is_copy_constructible<rust::Box<Monitor>>::value, "Box<Monitor> is move-only");
static_assert(std::is_nothrow_move_constructible<rust::Box<Monitor>>::value, "Box moves never throw");

#define CHECK(cond, ...) SFT_CHECK(cond, __VA_ARGS__)

namespace {

using Decisions = std::vector<sft_decision>;

sft_decision from_event(const Event &e)
{
    sft_decision d;
    d.flags = e.flags;
    d.stage = e.stage;
    d.frame = e.frame;
    d.verdict = e.verdict;
    d.halt = e.halt;
    d.advisory = e.advisory;
    d.ood = e.ood;
    d.confident = e.confident;
    d.within_tolerance = e.within_tolerance;
    d.evidence = e.evidence;
    d.tolerance = e.tolerance;
    d.vote = e.vote;
    d.score = e.score;
    d.cut = e.cut;
    d.mu_minus_sigma = e.mu_minus_sigma;
    d.mu_plus_sigma = e.mu_plus_sigma;
    d.mu_low = e.mu_low;
    d.mu_high = e.mu_high;
    d.level = e.level;
    return d;
}

sft_decision from_c(const sf_event &e)
{
    Event x;
    x.flags = e.flags;
    x.stage = e.stage;
    x.frame = e.frame;
    x.verdict = e.verdict;
    x.halt = e.halt != 0;
    x.advisory = e.advisory != 0;
    x.ood = e.ood != 0;
    x.confident = e.confident != 0;
    x.within_tolerance = e.within_tolerance != 0;
    x.evidence = e.evidence;
    x.tolerance = e.tolerance;
    x.vote = e.vote;
    x.score = e.score;
    x.cut = e.cut;
    x.mu_minus_sigma = e.mu_minus_sigma;
    x.mu_plus_sigma = e.mu_plus_sigma;
    x.mu_low = e.mu_low;
    x.mu_high = e.mu_high;
    x.level = e.level;
    return from_event(x);
}

bool same(const sft_decision &a, const sft_decision &b)
{
    return a.flags == b.flags && a.stage == b.stage && a.frame == b.frame && a.verdict == b.verdict &&
           a.halt == b.halt && a.advisory == b.advisory && a.ood == b.ood && a.confident == b.confident &&
           a.within_tolerance == b.within_tolerance && a.evidence == b.evidence &&
           sft_close(a.tolerance, b.tolerance) &&
           sft_close(a.vote, b.vote) && sft_close(a.score, b.score) && sft_close(a.cut, b.cut) &&
           sft_close(a.mu_minus_sigma, b.mu_minus_sigma) && sft_close(a.mu_plus_sigma, b.mu_plus_sigma) &&
           sft_close(a.mu_low, b.mu_low) && sft_close(a.mu_high, b.mu_high) && sft_close(a.level, b.level);
}

// RAII owners of what sftest.c allocates.
struct Json {
    sft_json *v = nullptr;
    Json() = default;
    explicit Json(const std::string &path)
    {
        char err[512];
        v = sft_json_parse_file(path.c_str(), err, sizeof err);
        CHECK(v != nullptr, "%s", err);
    }
    Json(Json &&o) noexcept : v(o.v) { o.v = nullptr; }
    Json &operator=(Json &&o) noexcept
    {
        std::swap(v, o.v);
        return *this;
    }
    ~Json() { sft_json_free(v); }
};

struct Trace {
    sft_trace t{};
    Trace() = default;
    explicit Trace(const std::string &path)
    {
        char err[512];
        CHECK(sft_trace_read(path.c_str(), &t, err, sizeof err) == 0, "%s", err);
    }
    Trace(Trace &&o) noexcept : t(o.t) { o.t = sft_trace{}; }
    Trace &operator=(Trace &&o) noexcept
    {
        std::swap(t, o.t);
        return *this;
    }
    ~Trace() { sft_trace_free(&t); }
};

struct Case {
    std::string path;
    Trace trace;
    Json wide, paper;
};

Case load_case(const sft_case &c)
{
    Case out;
    out.path = c.trace_path;
    out.trace = Trace(c.trace_path);
    out.wide = Json(c.json_wide);
    out.paper = Json(c.json_paper);
    return out;
}

// Pushes frames [from, to); returns the number of pushes that threw.
size_t stream(Monitor &mon, const sft_trace &t, size_t from, size_t to, Decisions &out)
{
    size_t bad = 0;
    for (size_t i = from; i < to; ++i) {
        try {
            Event e = mon.push(t.values[i]);
            if (e.flags != 0)
                out.push_back(from_event(e));
        } catch (const rust::Error &) {
            ++bad;
        }
    }
    return bad;
}

uint64_t json_frame(const sft_json *doc, const char *key)
{
    const sft_json *v = sft_json_get(doc, key);
    return sft_json_is_null(v) ? 0 : static_cast<uint64_t>(v->number);
}

uint64_t first_frame(const Decisions &ds, uint32_t flag)
{
    for (const auto &d : ds)
        if (flag ? (d.flags & flag) != 0 : d.halt != 0)
            return d.frame;
    return 0;
}

int expected_state(const Decisions &ds)
{
    bool irrelevant = false, forecast = false, relevant = false;
    for (const auto &d : ds) {
        // only a halting verdict screens the run out; an advisory one is information
        if ((d.flags & simforecast::EVENT_SCREEN) && d.halt)
            irrelevant = true;
        if ((d.flags & simforecast::EVENT_SCREEN) && d.verdict == simforecast::VERDICT_RELEVANT)
            relevant = true;
        if (d.flags & simforecast::EVENT_FORECAST)
            forecast = true;
    }
    return irrelevant ? simforecast::STATE_SCREENED_IRRELEVANT
           : forecast ? simforecast::STATE_FORECAST_READY
           : relevant ? simforecast::STATE_SCREENED_RELEVANT
                      : simforecast::STATE_COLLECTING;
}

void compare(const Decisions &got, const sft_json *doc, const sft_trace &t, const std::string &what)
{
    const sft_json *events = sft_json_get(doc, "events");
    CHECK(events && events->type == SFT_JSON_ARRAY, "%s: predict JSON has no events", what.c_str());
    if (!events || events->type != SFT_JSON_ARRAY)
        return;
    CHECK(static_cast<double>(t.n) == sft_json_num(doc, "frames"), "%s: %zu frames read, predict %.0f",
          what.c_str(), t.n, sft_json_num(doc, "frames"));
    CHECK(got.size() == events->n, "%s: %zu decisions, predict made %zu", what.c_str(), got.size(), events->n);
    for (size_t i = 0; i < got.size() && i < events->n; ++i)
        sft_check_decision(&got[i], &events->items[i], &t, what.c_str());
    CHECK(first_frame(got, 0) == json_frame(doc, "halt_frame"), "%s: halted at %llu, predict at %llu",
          what.c_str(), static_cast<unsigned long long>(first_frame(got, 0)),
          static_cast<unsigned long long>(json_frame(doc, "halt_frame")));
    CHECK(first_frame(got, simforecast::EVENT_FORECAST) == json_frame(doc, "forecast_frame"),
          "%s: forecast at %llu, predict at %llu", what.c_str(),
          static_cast<unsigned long long>(first_frame(got, simforecast::EVENT_FORECAST)),
          static_cast<unsigned long long>(json_frame(doc, "forecast_frame")));
}

// Runs `f`, which must throw E whose what() contains `message`.
template <typename E, typename F>
void expect_throw(F &&f, const char *message, const std::string &what)
{
    try {
        f();
        CHECK(false, "%s: no exception", what.c_str());
    } catch (const E &e) {
        CHECK(sft_contains(e.what(), message), "%s: '%s', expected '%s'", what.c_str(), e.what(), message);
    } catch (const std::exception &e) {
        CHECK(false, "%s: wrong exception type: '%s'", what.c_str(), e.what());
    }
}

rust::Slice<const uint8_t> slice(const std::vector<uint8_t> &v)
{
    return rust::Slice<const uint8_t>(v.data(), v.size());
}

std::vector<uint8_t> save(const Monitor &mon)
{
    rust::Vec<uint8_t> bytes = mon.save_state();
    return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

// ------------------------------------------------------------------ tests

void test_model(const Model &wide, const Model &paper, const sf_model *c_wide, const sft_trace &t)
{
    CHECK(std::strcmp(sf_version(), SF_EXPECTED_VERSION) == 0, "sf_version() %s", sf_version());
    uint64_t c_spacing = 0, c_window = 0;
    sf_model_frame_spacing(c_wide, &c_spacing);
    sf_model_max_window(c_wide, &c_window);
    CHECK(t.n > 1 && wide.frame_spacing() == static_cast<uint64_t>(t.steps[1] - t.steps[0]),
          "frame spacing %llu", static_cast<unsigned long long>(wide.frame_spacing()));
    CHECK(wide.frame_spacing() == c_spacing && wide.max_window() == c_window && c_window > 0,
          "C++ and C disagree: spacing %llu/%llu, window %llu/%llu",
          static_cast<unsigned long long>(wide.frame_spacing()), static_cast<unsigned long long>(c_spacing),
          static_cast<unsigned long long>(wide.max_window()), static_cast<unsigned long long>(c_window));
    std::string card(wide.describe());
    CHECK(card == sf_model_describe(c_wide), "describe() differs from sf_model_describe()");
    CHECK(sft_contains(card.c_str(), "default preset") && sft_contains(card.c_str(), "mu > 33.1") &&
              sft_contains(card.c_str(), "\nstages:\n  [0] screen at "),
          "card: %s", card.c_str());
    CHECK(sft_contains(std::string(paper.describe()).c_str(), "paper preset"), "paper card");
}

void test_held_out(const Model &wide, const Model &paper, const std::vector<Case> &cases)
{
    size_t halts = 0, forecasts = 0, irrelevant = 0, relevant = 0;
    const uint64_t windows[2] = {wide.max_window(), paper.max_window()};
    uint64_t last_decision[2] = {0, 0};
    for (const auto &c : cases) {
        for (int m = 0; m < 2; ++m) {
            std::string what = c.path + (m ? " [paper]" : " [wide]");
            rust::Box<Monitor> mon = simforecast::new_monitor(m ? paper : wide);
            Decisions got;
            size_t bad = stream(*mon, c.trace.t, 0, c.trace.t.n, got);
            CHECK(bad == 0, "%s: %zu pushes threw", what.c_str(), bad);
            compare(got, m ? c.paper.v : c.wide.v, c.trace.t, what);
            CHECK(mon->frames() == c.trace.t.n, "%s: %llu frames", what.c_str(),
                  static_cast<unsigned long long>(mon->frames()));
            CHECK(mon->state() == expected_state(got), "%s: state %d, decisions imply %d", what.c_str(),
                  mon->state(), expected_state(got));
            if (!got.empty()) {
                CHECK(same(from_event(mon->last_event()), got.back()), "%s: last_event differs", what.c_str());
                CHECK(got.back().frame <= windows[m], "%s: decision after max_window", what.c_str());
                last_decision[m] = std::max(last_decision[m], got.back().frame);
            }
            for (const auto &d : got) {
                halts += d.halt;
                forecasts += (d.flags & simforecast::EVENT_FORECAST) != 0;
                if (d.flags & simforecast::EVENT_SCREEN) {
                    irrelevant += d.verdict == simforecast::VERDICT_IRRELEVANT;
                    relevant += d.verdict == simforecast::VERDICT_RELEVANT;
                }
            }
        }
    }
    // Every decision lies within the stages; the paper model's last stage always decides (the
    // default's last regression stage speaks only when it forecasts a run no window pinned yet).
    CHECK(last_decision[0] <= windows[0] && last_decision[1] == windows[1], "last decisions vs max windows");
    CHECK(halts > 0 && forecasts > 0 && irrelevant > 0 && relevant > 0,
          "held-out decisions: %zu halts, %zu forecasts, %zu irrelevant, %zu relevant", halts, forecasts,
          irrelevant, relevant);
    std::printf("held-out: %zu traces x 2 models: %zu halts, %zu forecasts, %zu irrelevant, %zu relevant\n",
                cases.size(), halts, forecasts, irrelevant, relevant);
}

void test_non_finite(const Model &model, const Case &c, const sft_json *doc)
{
    const double bad[3] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()};
    const size_t at[] = {0, 49, 99, 100, 149, 299};
    rust::Box<Monitor> mon = simforecast::new_monitor(model);
    Decisions got;
    size_t next = 0, failures = 0;
    for (size_t a : at) {
        failures += stream(*mon, c.trace.t, next, a, got);
        next = a;
        const uint64_t frames = mon->frames();
        const int state = mon->state();
        const sft_decision last = from_event(mon->last_event());
        for (double v : bad)
            expect_throw<rust::Error>([&] { mon->push(v); }, "non-finite",
                                      "push(" + std::to_string(v) + ") at frame " + std::to_string(a));
        CHECK(mon->frames() == frames && mon->state() == state && same(from_event(mon->last_event()), last),
              "non-finite values at frame %zu changed the monitor", a);
    }
    failures += stream(*mon, c.trace.t, next, c.trace.t.n, got);
    CHECK(failures == 0, "%zu finite pushes threw", failures);
    compare(got, doc, c.trace.t, "C++ stream with NaN/Inf injected");
}

// Save after k frames, restore into a monitor of the model loaded again (whose box is destroyed
// first), continue: predict's decisions for every k.
void test_state_round_trip(const std::string &model_path, const Case &c, const sft_json *doc,
                           const std::string &label)
{
    rust::Box<Model> model = simforecast::load_model(model_path);
    const size_t splits[] = {0, 1, 49, 50, 99, 100, 101, 150, 299, 300, c.trace.t.n};
    for (size_t k : splits) {
        k = std::min(k, c.trace.t.n);
        std::string what = label + ": restart after " + std::to_string(k) + " frames";
        rust::Box<Monitor> first = simforecast::new_monitor(*model);
        Decisions got;
        size_t failures = stream(*first, c.trace.t, 0, k, got);
        std::vector<uint8_t> bytes = save(*first);

        rust::Box<Monitor> second = [&] {
            rust::Box<Model> again = simforecast::load_model(model_path);
            return simforecast::new_monitor(*again);
        }();
        try {
            second->load_state(slice(bytes));
        } catch (const rust::Error &e) {
            CHECK(false, "%s: %s", what.c_str(), e.what());
        }
        CHECK(first->frames() == k && second->frames() == k && first->state() == second->state() &&
                  same(from_event(first->last_event()), from_event(second->last_event())),
              "%s: the restored monitor differs", what.c_str());
        failures += stream(*second, c.trace.t, k, c.trace.t.n, got);
        CHECK(failures == 0, "%s: %zu pushes threw", what.c_str(), failures);
        compare(got, doc, c.trace.t, what);
    }
}

// State bytes move between the two APIs (they are one library).
void test_state_across_apis(const Model &model, const sf_model *c_model, const Case &c, const sft_json *doc)
{
    const size_t k = 120;
    rust::Box<Monitor> cpp = simforecast::new_monitor(model);
    Decisions got;
    size_t failures = stream(*cpp, c.trace.t, 0, k, got);
    std::vector<uint8_t> bytes = save(*cpp);

    std::unique_ptr<sf_monitor, decltype(&sf_monitor_free)> cmon(sf_monitor_new(c_model), &sf_monitor_free);
    CHECK(cmon && sf_monitor_load_state(cmon.get(), bytes.data(), bytes.size()) == SF_OK,
          "C++ state into the C API: %s", sf_last_error());
    for (size_t i = k; i < 200 && i < c.trace.t.n; ++i) {
        sf_event e;
        if (sf_monitor_push(cmon.get(), c.trace.t.values[i], &e) != SF_OK)
            ++failures;
        else if (e.flags)
            got.push_back(from_c(e));
    }
    size_t len = 0;
    sf_monitor_save_state(cmon.get(), nullptr, 0, &len);
    std::vector<uint8_t> back(len);
    CHECK(sf_monitor_save_state(cmon.get(), back.data(), back.size(), &len) == SF_OK, "%s", sf_last_error());
    rust::Box<Monitor> cpp2 = simforecast::new_monitor(model);
    cpp2->load_state(slice(back));
    failures += stream(*cpp2, c.trace.t, std::min<size_t>(200, c.trace.t.n), c.trace.t.n, got);
    CHECK(failures == 0, "%zu pushes failed", failures);
    compare(got, doc, c.trace.t, "C++ -> C -> C++ state hand-over");
}

void test_bad_state(const Model &wide, const Model &paper, const Case &c)
{
    const size_t k = 120;
    rust::Box<Monitor> w = simforecast::new_monitor(wide);
    rust::Box<Monitor> p = simforecast::new_monitor(paper);
    Decisions got, ignored;
    size_t failures = stream(*p, c.trace.t, 0, k, got) + stream(*w, c.trace.t, 0, k, ignored);
    const std::vector<uint8_t> wbytes = save(*w), pbytes = save(*p);

    struct Bad {
        std::string what;
        std::vector<uint8_t> bytes;
        const char *message;
    };
    std::vector<Bad> cases;
    cases.push_back({"another model's state", wbytes, "different model"});
    auto magic = pbytes;
    magic[0] ^= 0x20;
    cases.push_back({"wrong magic", magic, "not a simforecast monitor state"});
    cases.push_back({"11 bytes", std::vector<uint8_t>(pbytes.begin(), pbytes.begin() + 11),
                     "not a simforecast monitor state"});
    cases.push_back({"truncated", std::vector<uint8_t>(pbytes.begin(), pbytes.end() - 3), "corrupted"});
    cases.push_back({"empty", {}, "not a simforecast monitor state"});
    auto fp = pbytes;
    fp[9] ^= 0x01;
    cases.push_back({"flipped fingerprint", fp, "different model"});
    auto garbage = pbytes;
    std::fill(garbage.begin() + 12, garbage.end(), 0xFF);
    cases.push_back({"garbage payload", garbage, "monitor state"});

    const uint64_t frames = p->frames();
    const int state = p->state();
    for (const auto &b : cases) {
        expect_throw<rust::Error>([&] { p->load_state(slice(b.bytes)); }, b.message, b.what);
        CHECK(p->frames() == frames && p->state() == state, "%s changed the monitor", b.what.c_str());
    }
    failures += stream(*p, c.trace.t, k, c.trace.t.n, got);
    CHECK(failures == 0, "%zu pushes threw", failures);
    compare(got, c.paper.v, c.trace.t, "C++ after refused states");
}

void test_reset(const Model &paper, const Case &halting, const Case &plain)
{
    rust::Box<Monitor> mon = simforecast::new_monitor(paper);
    const Case *order[3] = {&halting, &plain, &halting};
    for (int r = 0; r < 3; ++r) {
        if (r > 0) {
            mon->reset();
            const Event last = mon->last_event();
            CHECK(mon->frames() == 0 && mon->state() == simforecast::STATE_COLLECTING && last.flags == 0 &&
                      last.frame == 0 && !last.halt,
                  "after reset: %llu frames, state %d", static_cast<unsigned long long>(mon->frames()),
                  mon->state());
        }
        Decisions got;
        size_t failures = stream(*mon, order[r]->trace.t, 0, order[r]->trace.t.n, got);
        CHECK(failures == 0, "%zu pushes threw", failures);
        compare(got, order[r]->paper.v, order[r]->trace.t, "C++ pass " + std::to_string(r + 1));
    }
}

// RAII: a monitor outlives its model's box; moved-from boxes are empty and destroyed harmlessly
// (valgrind checks there is no double free or leak); boxes live in containers.
void test_raii(const std::string &model_path, const Case &c)
{
    rust::Box<Monitor> mon = [&] {
        rust::Box<Model> model = simforecast::load_model(model_path);
        return simforecast::new_monitor(*model);
    }(); // the model's box is gone here
    Decisions got;
    size_t failures = stream(*mon, c.trace.t, 0, c.trace.t.n, got);
    CHECK(failures == 0, "%zu pushes threw", failures);
    compare(got, c.wide.v, c.trace.t, "C++ model destroyed before its monitor");

    rust::Box<Monitor> moved = std::move(mon); // `mon` is now empty; both are destroyed below
    CHECK(moved->frames() == c.trace.t.n, "the moved box lost its monitor");
    rust::Box<Model> model = simforecast::load_model(model_path);
    moved = simforecast::new_monitor(*model); // move-assignment frees the old monitor
    CHECK(moved->frames() == 0, "a new monitor has %llu frames", static_cast<unsigned long long>(moved->frames()));

    std::vector<rust::Box<Monitor>> many;
    for (int i = 0; i < 50; ++i) // reallocations move the boxes
        many.push_back(simforecast::new_monitor(*model));
    Decisions first;
    stream(*many.front(), c.trace.t, 0, c.trace.t.n, first);
    compare(first, c.wide.v, c.trace.t, "C++ monitor kept in a vector");
    many.erase(many.begin(), many.begin() + 25);
}

void test_bad_model_files(const std::string &good_path, const std::string &scratch, const std::string &trace)
{
    auto load = [](const std::string &p) { return [p] { simforecast::load_model(p); }; };
    expect_throw<rust::Error>(load(scratch + "/no-such-model.sfm"), "cannot read model file", "missing file");
    expect_throw<rust::Error>(load(scratch + "/no-such-model.sfm"), "no-such-model.sfm", "the error names the file");
    expect_throw<rust::Error>(load(""), "cannot read model file", "empty path");
    expect_throw<rust::Error>(load(scratch), "cannot read model file", "a directory");
    expect_throw<rust::Error>(load(trace), "not a simforecast model file", "a trace file");
    // rust::Str refuses a non-UTF-8 path before the library is called.
    expect_throw<std::invalid_argument>(load(std::string("\xff\xfe/model.sfm")), "not utf-8", "non-UTF-8 path");

    size_t len = 0;
    unsigned char *raw = sft_read_file(good_path.c_str(), &len);
    CHECK(raw && len > 64, "cannot read %s", good_path.c_str());
    if (!raw || len <= 64) {
        std::free(raw);
        return;
    }
    const std::vector<uint8_t> good(raw, raw + len);
    std::free(raw);
    auto write = [&](const std::string &name, const std::vector<uint8_t> &b) {
        std::string p = scratch + "/" + name;
        CHECK(sft_write_file(p.c_str(), b.data(), b.size()) == 0, "cannot write %s", p.c_str());
        return p;
    };
    expect_throw<rust::Error>(load(write("empty.sfm", {})), "truncated", "empty file");
    expect_throw<rust::Error>(load(write("half.sfm", std::vector<uint8_t>(good.begin(), good.begin() + len / 2))),
                              "truncated", "half a file");
    auto flipped = good;
    flipped[len / 2] ^= 0x40;
    expect_throw<rust::Error>(load(write("flipped.sfm", flipped)), "corrupted", "flipped byte");
    auto newer = good;
    newer[8] = static_cast<uint8_t>(newer[8] + 1);
    expect_throw<rust::Error>(load(write("newer.sfm", newer)), "upgrade simforecast", "newer version");
    auto older = good;
    std::fill(older.begin() + 8, older.begin() + 12, 0);
    expect_throw<rust::Error>(load(write("older.sfm", older)), "retrain", "version 0");
    // Errors are std::exceptions, for callers that catch those.
    try {
        simforecast::load_model(scratch + "/flipped.sfm");
        CHECK(false, "a corrupted file loaded");
    } catch (const std::exception &e) {
        CHECK(sft_contains(e.what(), "flipped.sfm"), "what(): %s", e.what());
    }
}

// One model, monitors on several threads.
void test_threads(const Model &model, const Case &a, const Case &b)
{
    Decisions got[2];
    size_t failures[2] = {0, 0};
    const Case *cases[2] = {&a, &b};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&, i] {
            rust::Box<Monitor> mon = simforecast::new_monitor(model);
            failures[i] = stream(*mon, cases[i]->trace.t, 0, cases[i]->trace.t.n, got[i]);
        });
    for (auto &t : threads)
        t.join();
    for (int i = 0; i < 2; ++i) {
        CHECK(failures[i] == 0, "%zu pushes threw on a thread", failures[i]);
        compare(got[i], cases[i]->wide.v, cases[i]->trace.t, "C++ monitor on another thread");
    }
}

// ------------------------------------------------------------------ the model-free mode

bool same_check(const ConvergenceResult &a, const sf_convergence_result &b)
{
    return a.verdict == b.verdict && a.has_estimate == (b.has_estimate != 0) && a.frames == b.frames &&
           a.start == b.start && a.block_size == b.block_size && a.blocks == b.blocks && sft_close(a.mean, b.mean) &&
           sft_close(a.sd, b.sd) && sft_close(a.half_width, b.half_width) && sft_close(a.mu_low, b.mu_low) &&
           sft_close(a.mu_high, b.mu_high) && sft_close(a.level, b.level) &&
           sft_close(a.relative_half_width, b.relative_half_width) &&
           sft_close(a.first_half_mean, b.first_half_mean) && sft_close(a.second_half_mean, b.second_half_mean) &&
           sft_close(a.relative_drift, b.relative_drift) && sft_close(a.inefficiency, b.inefficiency) &&
           sft_close(a.effective_samples, b.effective_samples);
}

using CConvergence = std::unique_ptr<sf_convergence, decltype(&sf_convergence_free)>;

CConvergence c_convergence()
{
    const sf_convergence_params p = sf_convergence_params_default();
    return CConvergence(sf_convergence_new(&p), &sf_convergence_free);
}

// Every held-out trace through both APIs, checked every 50 frames to its end: identical checks.
// Returns how many traces converged somewhere.
size_t convergence_like_c(Convergence &cxx, sf_convergence *c, const sft_trace &t, size_t from,
                          const std::string &what)
{
    size_t converged = 0, differ = 0, failures = 0;
    for (size_t i = from; i < t.n; ++i) {
        cxx.push(t.values[i]);
        failures += sf_convergence_push(c, t.values[i]) != SF_OK;
        if ((i + 1) % 50 != 0)
            continue;
        const ConvergenceResult a = cxx.check();
        sf_convergence_result b;
        failures += sf_convergence_check(c, &b) != SF_OK;
        differ += !same_check(a, b);
        converged += a.verdict == simforecast::CONVERGENCE_VERDICT_CONVERGED;
    }
    CHECK(differ == 0 && failures == 0, "%s: %zu checks differ from the C ABI's (%zu C calls failed)", what.c_str(),
          differ, failures);
    return converged;
}

void test_convergence(const std::vector<Case> &cases)
{
    const ConvergenceParams d = simforecast::convergence_params_default();
    const sf_convergence_params c = sf_convergence_params_default();
    CHECK(d.tolerance == c.tolerance && d.drift_tolerance == c.drift_tolerance && d.level == c.level &&
              d.max_discard == c.max_discard && d.min_frames == c.min_frames && d.min_blocks == c.min_blocks &&
              d.capacity == c.capacity && d.equilibration == c.equilibration,
          "C++ defaults differ from the C ABI's (tolerance %g / %g)", d.tolerance, c.tolerance);

    size_t stopped = 0;
    rust::Box<Convergence> cxx = simforecast::new_convergence(d);
    CConvergence cc = c_convergence();
    for (const auto &k : cases) {
        cxx->reset();
        sf_convergence_reset(cc.get());
        stopped += convergence_like_c(*cxx, cc.get(), k.trace.t, 0, k.path) > 0;
    }
    CHECK(stopped > 0 && stopped < cases.size(), "%zu of %zu held-out traces converged somewhere", stopped,
          cases.size());

    // Bad parameters and frames throw the library's message, and change nothing.
    ConvergenceParams bad = d;
    bad.tolerance = 0.0;
    expect_throw<rust::Error>([&] { simforecast::new_convergence(bad); }, "tolerance must be a positive",
                              "tolerance 0");
    bad = d;
    bad.equilibration = 7;
    expect_throw<rust::Error>([&] { simforecast::new_convergence(bad); }, "SF_EQUILIBRATION_MSER (1), got 7",
                              "equilibration 7");
    const sft_trace &t = cases.front().trace.t;
    cxx->reset();
    for (size_t i = 0; i < 300; ++i)
        cxx->push(t.values[i]);
    const ConvergenceResult before = cxx->check();
    expect_throw<rust::Error>([&] { cxx->push(std::numeric_limits<double>::quiet_NaN()); }, "non-finite", "NaN");
    expect_throw<rust::Error>([&] { cxx->push(-std::numeric_limits<double>::infinity()); }, "non-finite", "-Inf");
    rust::Vec<uint8_t> garbage;
    for (int i = 0; i < 40; ++i)
        garbage.push_back(0xAB);
    expect_throw<rust::Error>([&] { cxx->load_state(rust::Slice<const uint8_t>(garbage.data(), garbage.size())); },
                              "not a simforecast convergence", "garbage state");
    const ConvergenceResult after = cxx->check();
    sf_convergence_result as_c;
    std::memset(&as_c, 0, sizeof as_c);
    as_c.verdict = before.verdict;
    as_c.has_estimate = before.has_estimate;
    as_c.frames = before.frames;
    as_c.start = before.start;
    as_c.block_size = before.block_size;
    as_c.blocks = before.blocks;
    as_c.mean = before.mean;
    as_c.sd = before.sd;
    as_c.half_width = before.half_width;
    as_c.mu_low = before.mu_low;
    as_c.mu_high = before.mu_high;
    as_c.level = before.level;
    as_c.relative_half_width = before.relative_half_width;
    as_c.first_half_mean = before.first_half_mean;
    as_c.second_half_mean = before.second_half_mean;
    as_c.relative_drift = before.relative_drift;
    as_c.inefficiency = before.inefficiency;
    as_c.effective_samples = before.effective_samples;
    CHECK(cxx->frames() == 300 && same_check(after, as_c), "refused input changed the estimator (%llu frames)",
          static_cast<unsigned long long>(cxx->frames()));

    // State moves between the APIs: C++ -> C after 300 frames (past the first pairing), then both
    // go on identically.
    rust::Vec<uint8_t> bytes = cxx->save_state();
    CConvergence restored = c_convergence();
    CHECK(sf_convergence_load_state(restored.get(), bytes.data(), bytes.size()) == SF_OK, "C load of C++ state: %s",
          sf_last_error());
    convergence_like_c(*cxx, restored.get(), t, 300, "C++ state loaded by C");

    // RAII: a moved-from box is empty; the moved-to box owns the estimator.
    rust::Box<Convergence> moved = std::move(cxx);
    CHECK(moved->frames() == t.n, "the moved box has %llu frames", static_cast<unsigned long long>(moved->frames()));
}

// The tolerance through the C++ API: the model's, a monitor's setting (a refused one throws and
// changes nothing), and the same decisions as the C ABI's monitor at the same tolerance.
void test_tolerance(const Model &wide, const sf_model *c_wide, const std::vector<Case> &cases)
{
    CHECK(wide.tolerance() == 0.25 && wide.tolerance_low() == 0.05 && wide.tolerance_high() == 1.0,
          "model tolerance %g, range %g..%g", wide.tolerance(), wide.tolerance_low(), wide.tolerance_high());
    rust::Box<Monitor> mon = simforecast::new_monitor(wide);
    CHECK(mon->tolerance() == 0.25, "in force %g", mon->tolerance());
    mon->set_tolerance(0.5);
    CHECK(mon->tolerance() == 0.5, "after set_tolerance(0.5): %g", mon->tolerance());
    for (double bad : {0.0, -1.0, 2.0, std::nan("")}) {
        expect_throw<rust::Error>([&] { mon->set_tolerance(bad); }, "tolerance",
                                  "set_tolerance(" + std::to_string(bad) + ")");
        CHECK(mon->tolerance() == 0.5, "a refused tolerance changed it to %g", mon->tolerance());
    }
    mon->reset_tolerance();
    CHECK(mon->tolerance() == 0.25, "after reset_tolerance: %g", mon->tolerance());

    size_t forecasts = 0;
    for (const auto &c : cases) {
        rust::Box<Monitor> m = simforecast::new_monitor(wide);
        m->set_tolerance(0.5);
        std::unique_ptr<sf_monitor, decltype(&sf_monitor_free)> cm(sf_monitor_new(c_wide), &sf_monitor_free);
        CHECK(sf_monitor_set_tolerance(cm.get(), 0.5) == SF_OK, "%s", sf_last_error());
        for (size_t i = 0; i < c.trace.t.n; ++i) {
            Event e = m->push(c.trace.t.values[i]);
            sf_event ce;
            CHECK(sf_monitor_push(cm.get(), c.trace.t.values[i], &ce) == SF_OK, "%s", sf_last_error());
            CHECK(same(from_event(e), from_c(ce)), "frame %zu: C++ and C differ at tolerance 0.5", i + 1);
            if (e.flags & simforecast::EVENT_FORECAST) {
                ++forecasts;
                CHECK(e.tolerance == 0.5 && e.within_tolerance && e.evidence == simforecast::EVIDENCE_MODEL,
                      "forecast at frame %llu: tolerance %g, within %d, evidence %d",
                      static_cast<unsigned long long>(e.frame), e.tolerance, int(e.within_tolerance), e.evidence);
            }
        }
    }
    CHECK(forecasts > 0, "no held-out forecast at tolerance 0.5");
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <fixture dir> <scratch dir>\n", argv[0]);
        return 2;
    }
    const std::string scratch = argv[2];
    mkdir(scratch.c_str(), 0777);
    char err[512];
    sft_fixture fx;
    if (sft_fixture_read(argv[1], &fx, err, sizeof err) != 0) {
        std::fprintf(stderr, "%s\n", err);
        return 2;
    }
    const std::string wide_path = fx.wide_model, paper_path = fx.paper_model;
    std::vector<Case> cases;
    for (size_t i = 0; i < fx.n; ++i)
        cases.push_back(load_case(fx.cases[i]));
    const std::string first_trace = fx.cases[0].trace_path;
    sft_fixture_free(&fx);

    try {
        rust::Box<Model> wide = simforecast::load_model(wide_path);
        rust::Box<Model> paper = simforecast::load_model(paper_path);
        std::unique_ptr<sf_model, decltype(&sf_model_free)> c_wide(sf_model_load(wide_path.c_str()), &sf_model_free);
        CHECK(c_wide != nullptr, "%s", sf_last_error());

        const Case *halting = nullptr, *plain = nullptr;
        for (const auto &c : cases) {
            bool halts = json_frame(c.paper.v, "halt_frame") != 0;
            if (halts && !halting)
                halting = &c;
            if (!halts && !plain)
                plain = &c;
        }
        CHECK(halting && plain, "the fixture needs a halted and a non-halted trace");
        if (halting && plain && c_wide) {
            test_model(*wide, *paper, c_wide.get(), plain->trace.t);
            test_held_out(*wide, *paper, cases);
            test_tolerance(*wide, c_wide.get(), cases);
            test_non_finite(*wide, *plain, plain->wide.v);
            test_non_finite(*paper, *halting, halting->paper.v);
            test_state_round_trip(wide_path, *plain, plain->wide.v, "C++ wide");
            test_state_round_trip(paper_path, *halting, halting->paper.v, "C++ paper, halted trace");
            test_state_across_apis(*wide, c_wide.get(), *plain, plain->wide.v);
            test_bad_state(*wide, *paper, *halting);
            test_reset(*paper, *halting, *plain);
            test_raii(wide_path, *plain);
            test_threads(*wide, *halting, *plain);
        }
        test_convergence(cases);
        test_bad_model_files(wide_path, scratch, first_trace);
    } catch (const std::exception &e) {
        CHECK(false, "unexpected exception: %s", e.what());
    }
    return sft_summary("test_cpp_api");
}
