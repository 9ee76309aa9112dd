// The C header used from C++ (C++11, warnings as errors, the header not treated as a system
// header): its types, constants and extern "C" declarations work as they do in C, and owning
// the handles with std::unique_ptr frees them exactly once. Every held-out trace, under both
// models, gives the decisions of `simforecast predict --json`, and converges on its own
// statistics where `simforecast convergence --json` says.
//
//   cpp_compat <fixture dir>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "simforecast.h"
#include "sftest.h"

namespace {

struct ModelFree {
    void operator()(sf_model *m) const noexcept { sf_model_free(m); }
};
struct MonitorFree {
    void operator()(sf_monitor *m) const noexcept { sf_monitor_free(m); }
};
struct ConvergenceFree {
    void operator()(sf_convergence *c) const noexcept { sf_convergence_free(c); }
};
using ModelPtr = std::unique_ptr<sf_model, ModelFree>;
using MonitorPtr = std::unique_ptr<sf_monitor, MonitorFree>;
using ConvergencePtr = std::unique_ptr<sf_convergence, ConvergenceFree>;

// sf_event is a standard-layout C struct in C++ too.
static_assert(std::is_standard_layout<sf_event>::value, "sf_event is plain data");
// ABI 4: confident, within_tolerance, evidence and 4 bytes of padding, then tolerance.
static_assert(sizeof(sf_event) == 4 + 4 + 8 + 4 * 4 + 8 * 8 + 4 * 4 + 8, "sf_event layout (incl. padding)");
static_assert(std::is_standard_layout<sf_convergence_params>::value &&
                  std::is_standard_layout<sf_convergence_result>::value,
              "the convergence structs are plain data");
static_assert(sizeof(sf_convergence_params) == 4 * 8 + 8 + 2 * sizeof(size_t) + 4 + 4,
              "sf_convergence_params layout (incl. tail padding)");
static_assert(sizeof(sf_convergence_result) == 4 + 4 + 4 * 8 + 12 * 8, "sf_convergence_result layout");
static_assert(sizeof(sf_convergence_verdict) == 4 && sizeof(sf_equilibration) == 4, "codes are int32_t");

// The first frame (a multiple of 50) at which the trace converges on its own statistics; 0: never.
std::uint64_t converged_at(const sft_trace &t)
{
    const sf_convergence_params p = sf_convergence_params_default();
    ConvergencePtr c(sf_convergence_new(&p));
    for (size_t i = 0; c && i < t.n; ++i) {
        if (sf_convergence_push(c.get(), t.values[i]) != SF_OK)
            return 0;
        sf_convergence_result r;
        if ((i + 1) % 50 == 0 && sf_convergence_check(c.get(), &r) == SF_OK &&
            r.verdict == SF_CONVERGENCE_VERDICT_CONVERGED)
            return i + 1;
    }
    return 0;
}

const sft_json *cli_run(const sft_json *doc, const std::string &path)
{
    const size_t slash = path.rfind('/'), dot = path.rfind('.');
    const std::string name = path.substr(slash + 1, dot - slash - 1);
    const sft_json *runs = sft_json_get(doc, "runs_at_min_frames");
    for (size_t i = 0; runs && i < runs->n; ++i) {
        const char *n = sft_json_str(&runs->items[i], "name");
        if (n && name == n)
            return &runs->items[i];
    }
    return nullptr;
}

sft_decision from_c(const sf_event &e)
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

void check_trace(const sf_model *model, const sft_trace &t, const sft_json *doc, const std::string &what)
{
    MonitorPtr mon(sf_monitor_new(model));
    SFT_CHECK(mon != nullptr, "%s: %s", what.c_str(), sf_last_error());
    if (!mon)
        return;
    std::vector<sft_decision> got;
    size_t failures = 0;
    for (size_t i = 0; i < t.n; ++i) {
        sf_event e;
        if (sf_monitor_push(mon.get(), t.values[i], &e) != SF_OK)
            ++failures;
        else if (e.flags != 0)
            got.push_back(from_c(e));
    }
    SFT_CHECK(failures == 0, "%s: %zu pushes failed: %s", what.c_str(), failures, sf_last_error());
    const sft_json *events = sft_json_get(doc, "events");
    SFT_CHECK(events && got.size() == events->n, "%s: %zu decisions, predict made %zu", what.c_str(), got.size(),
              events ? events->n : 0);
    for (size_t i = 0; events && i < got.size() && i < events->n; ++i)
        sft_check_decision(&got[i], &events->items[i], &t, what.c_str());
}

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <fixture dir>\n", argv[0]);
        return 2;
    }
    SFT_CHECK(sf_abi_version() == SF_ABI_VERSION, "ABI %d, header %d", sf_abi_version(), SF_ABI_VERSION);
    char err[512];
    sft_fixture fx;
    if (sft_fixture_read(argv[1], &fx, err, sizeof err) != 0) {
        std::fprintf(stderr, "%s\n", err);
        return 2;
    }
    sft_json *convergence = sft_json_parse_file((std::string(argv[1]) + "/convergence.json").c_str(), err, sizeof err);
    SFT_CHECK(convergence != nullptr, "%s", err);
    {
        ModelPtr wide(sf_model_load(fx.wide_model));
        ModelPtr paper(sf_model_load(fx.paper_model));
        SFT_CHECK(wide && paper, "%s", sf_last_error());
        for (size_t i = 0; wide && paper && i < fx.n; ++i) {
            sft_trace t;
            if (sft_trace_read(fx.cases[i].trace_path, &t, err, sizeof err) != 0) {
                SFT_CHECK(false, "%s", err);
                continue;
            }
            sft_json *jw = sft_json_parse_file(fx.cases[i].json_wide, err, sizeof err);
            sft_json *jp = sft_json_parse_file(fx.cases[i].json_paper, err, sizeof err);
            SFT_CHECK(jw && jp, "%s", err);
            if (jw && jp) {
                check_trace(wide.get(), t, jw, std::string(fx.cases[i].trace_path) + " [wide, C API from C++]");
                check_trace(paper.get(), t, jp, std::string(fx.cases[i].trace_path) + " [paper, C API from C++]");
            }
            const sft_json *run = convergence ? cli_run(convergence, fx.cases[i].trace_path) : nullptr;
            const sft_json *stop = run ? sft_json_get(run, "stop_frame") : nullptr;
            SFT_CHECK(run && converged_at(t) == (sft_json_is_null(stop) ? 0 : static_cast<std::uint64_t>(stop->number)),
                      "%s: converged at %llu, simforecast convergence at %g", fx.cases[i].trace_path,
                      static_cast<unsigned long long>(converged_at(t)), stop ? stop->number : -1.0);
            sft_json_free(jw);
            sft_json_free(jp);
            sft_trace_free(&t);
        }

        // Errors as in C.
        SFT_CHECK(!ModelPtr(sf_model_load(nullptr)) && sft_contains(sf_last_error(), "NULL"), "load(nullptr): %s",
                  sf_last_error());
        MonitorPtr mon(sf_monitor_new(wide.get()));
        sf_event e;
        SFT_CHECK(sf_monitor_push(mon.get(), std::nan(""), &e) == SF_ERR_NON_FINITE &&
                      sft_contains(sf_last_error(), "non-finite"),
                  "push(NaN): %s", sf_last_error());
        SFT_CHECK(sf_monitor_push(nullptr, 1.0, &e) == SF_ERR_NULL, "push(nullptr)");
        std::uint64_t frames = 1;
        SFT_CHECK(sf_monitor_frames(mon.get(), &frames) == SF_OK && frames == 0, "frames after refused pushes");
        sf_convergence_params p = sf_convergence_params_default();
        p.equilibration = SF_EQUILIBRATION_MSER;
        ConvergencePtr conv(sf_convergence_new(&p));
        SFT_CHECK(conv && sf_convergence_push(conv.get(), std::nan("")) == SF_ERR_NON_FINITE &&
                      sf_convergence_push(nullptr, 1.0) == SF_ERR_NULL,
                  "convergence from C++: %s", sf_last_error());
    }
    sft_json_free(convergence);
    sft_fixture_free(&fx);
    return sft_summary("cpp_compat");
}
