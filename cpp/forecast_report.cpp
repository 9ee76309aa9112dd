/* ----------------------------------------------------------------------
   fix forecast: the text of its decisions, see forecast_report.h.
------------------------------------------------------------------------- */

#include "forecast_report.h"

#include "fmt/format.h"

#include <cmath>
#include <vector>

namespace LAMMPS_NS {
namespace forecast_report {

  namespace {

    // x with the given significant digits, or "none" when absent (NaN).
    std::string number(double x, int digits)
    {
      if (std::isnan(x)) return "none";
      return fmt::format("{:.{}g}", x, digits);
    }

    const char *verdict_name(int32_t verdict)
    {
      switch (verdict) {
        case SF_VERDICT_RELEVANT:
          return "relevant";
        case SF_VERDICT_IRRELEVANT:
          return "irrelevant";
        case SF_VERDICT_UNSURE:
          return "unsure";
        default:
          return "unknown";
      }
    }

    bool screened(const sf_event &ev)
    {
      return (ev.flags & SF_EVENT_SCREEN) != 0;
    }

    bool forecast(const sf_event &ev)
    {
      return (ev.flags & SF_EVENT_FORECAST) != 0;
    }

    // A confident irrelevant verdict that action advise keeps from halting the run.
    bool would_halt(const sf_event &ev, bool advise)
    {
      return screened(ev) && ev.halt && advise;
    }

    // An irrelevant verdict the model does not act on: an advisory stage (below its
    // halting-precision target) or a last-stage majority that is not confident.
    bool advisory_irrelevant(const sf_event &ev)
    {
      return screened(ev) && ev.verdict == SF_VERDICT_IRRELEVANT && ev.advisory && !ev.halt;
    }

    std::string join(const std::vector<std::string> &parts, const char *sep)
    {
      std::string out;
      for (const auto &p : parts) out += (out.empty() ? "" : sep) + p;
      return out;
    }

    // How precise a forecast is against the tolerance in force, and what it rests on.
    std::string precision(const sf_event &ev)
    {
      const double mid = 0.5 * (ev.mu_low + ev.mu_high);
      const double rel = mid != 0.0 ? 0.5 * (ev.mu_high - ev.mu_low) / std::fabs(mid) : NAN;
      const char *evidence =
          ev.evidence == SF_EVIDENCE_OWN_STATISTICS ? "own statistics" : "model";
      if (std::isnan(ev.tolerance))
        return fmt::format("relative half-width {} (no tolerance; evidence {})", number(rel, 3),
                           evidence);
      return fmt::format("relative half-width {} {} the tolerance {} (evidence {})",
                         number(rel, 3), ev.within_tolerance ? "within" : "wider than",
                         number(ev.tolerance, 3), evidence);
    }

    // What was decided.
    std::string decided(const sf_event &ev)
    {
      std::vector<std::string> parts;
      if (screened(ev))
        parts.push_back(fmt::format("screening verdict {}{} (vote for irrelevant {}, score {}, "
                                    "cut {})",
                                    verdict_name(ev.verdict),
                                    advisory_irrelevant(ev) ? ", advisory" : "",
                                    number(ev.vote, 4), number(ev.score, 4), number(ev.cut, 4)));
      if (forecast(ev))
        parts.push_back(fmt::format("forecast mu-sigma = {}, mu+sigma = {}, mu in [{}, {}] at "
                                    "level {}, {}",
                                    number(ev.mu_minus_sigma, 6), number(ev.mu_plus_sigma, 6),
                                    number(ev.mu_low, 6), number(ev.mu_high, 6),
                                    number(ev.level, 3), precision(ev)));
      if (ev.ood) parts.emplace_back("the trace is outside the training distribution");
      return join(parts, "; ");
    }

    // What the fix does now, and why (one reason, the one that decided it).
    std::string response(const sf_event &ev, Response r, bool advise)
    {
      switch (r) {
        case Response::HALT:
          return "halting the run (action halt)";
        case Response::STOP:
          return "ending the run (after stop: the forecast is written)";
        case Response::GO_ON:
          break;
      }
      if (would_halt(ev, advise))
        return "the run goes on (action advise; action halt would end it here)";
      if (forecast(ev)) return "the run goes on (after continue)";
      if (ev.ood)
        return "the run goes on (the model does not act on a trace outside its training "
               "distribution)";
      if (advisory_irrelevant(ev)) return "the run goes on (an advisory verdict never halts)";
      return "the run goes on";
    }

  }    // namespace

  std::string message(const std::string &fix_id, int64_t step, const sf_event &ev, Response r,
                      bool advise)
  {
    return fmt::format("fix forecast {} step {} frame {} stage {}: {} -> {}", fix_id, step,
                       ev.frame, ev.stage, decided(ev), response(ev, r, advise));
  }

  const char *file_header()
  {
    return "# step frame stage kind verdict vote score cut mu-sigma mu+sigma mu_low mu_high "
           "level flags";
  }

  std::string file_line(int64_t step, const sf_event &ev, Response r, bool advise)
  {
    std::vector<std::string> flags;
    if (r == Response::HALT) flags.emplace_back("halt");
    if (would_halt(ev, advise)) flags.emplace_back("would-halt");
    if (r == Response::STOP) flags.emplace_back("stop");
    if (ev.advisory) flags.emplace_back("advisory");
    if (ev.ood) flags.emplace_back("ood");

    const char *kind =
        screened(ev) && forecast(ev) ? "screen+forecast" : (screened(ev) ? "screen" : "forecast");
    // 17 significant digits round-trip a double exactly: the file is the record of the decision.
    std::vector<std::string> values;
    for (double x : {ev.vote, ev.score, ev.cut, ev.mu_minus_sigma, ev.mu_plus_sigma, ev.mu_low,
                     ev.mu_high, ev.level})
      values.push_back(number(x, 17));
    return fmt::format("{} {} {} {} {} {} {}", step, ev.frame, ev.stage, kind,
                       screened(ev) ? verdict_name(ev.verdict) : "-", join(values, " "),
                       flags.empty() ? std::string("-") : join(flags, ","));
  }

  std::string nonfinite_message(const std::string &fix_id, const std::string &input, int64_t step,
                                uint64_t frame, double value)
  {
    return fmt::format("Fix forecast {}: input {} is not a finite number on step {} (value {}, "
                       "frame {})",
                       fix_id, input, step, value, frame);
  }

  std::string nonfinite_line(int64_t step, uint64_t frame, const char *setting)
  {
    return fmt::format("{} {} - nonfinite - none none none none none none none none {}", step,
                       frame, setting);
  }

  // ---- the model-free convergence mode

  const char *convergence_verdict_name(int32_t verdict)
  {
    switch (verdict) {
      case SF_CONVERGENCE_VERDICT_CONVERGED:
        return "converged";
      case SF_CONVERGENCE_VERDICT_TOO_FEW_BLOCKS:
        return "too-few-blocks";
      case SF_CONVERGENCE_VERDICT_TOO_FEW_FRAMES:
        return "too-few-frames";
      case SF_CONVERGENCE_VERDICT_ZERO_MEAN:
        return "zero-mean";
      case SF_CONVERGENCE_VERDICT_TOO_WIDE:
        return "too-wide";
      case SF_CONVERGENCE_VERDICT_DRIFTING:
        return "drifting";
      default:
        return "unknown";
    }
  }

  std::string convergence_message(const std::string &fix_id, int64_t step,
                                  const sf_convergence_result &res, double tolerance,
                                  double drift, Response r)
  {
    const std::string does = (r == Response::STOP)
        ? "ending the run (after stop: the estimate is written)"
        : "the run goes on (after continue)";
    return fmt::format(
        "fix forecast {} step {} frame {}: converged by own statistics (not calibrated): mu = {} "
        "in [{}, {}] at level {}; relative half-width {} (tolerance {}), halves differ by {} "
        "(drift {}); frames {} to {} after equilibration, statistical inefficiency {} -> {}",
        fix_id, step, res.frames, number(res.mean, 6), number(res.mu_low, 6),
        number(res.mu_high, 6), number(res.level, 3), number(res.relative_half_width, 3),
        number(tolerance, 3), number(res.relative_drift, 3), number(drift, 3), res.start + 1,
        res.frames, number(res.inefficiency, 3), does);
  }

  const char *convergence_file_header()
  {
    return "# step frame kind verdict mu mu_low mu_high level relative_half_width relative_drift "
           "start inefficiency flags";
  }

  std::string convergence_file_line(int64_t step, const sf_convergence_result &res, Response r)
  {
    std::vector<std::string> values;
    for (double x : {res.mean, res.mu_low, res.mu_high, res.level, res.relative_half_width,
                     res.relative_drift})
      values.push_back(number(x, 17));
    // the first frame after equilibration (1-based, as 'frame'), none without an estimate
    const std::string start = res.has_estimate ? std::to_string(res.start + 1) : "none";
    std::vector<std::string> flags;
    if (res.verdict == SF_CONVERGENCE_VERDICT_CONVERGED) {
      flags.emplace_back("own-statistics");
      flags.emplace_back("not-calibrated");
    }
    if (r == Response::STOP) flags.emplace_back("stop");
    return fmt::format("{} {} check {} {} {} {} {}", step, res.frames,
                       convergence_verdict_name(res.verdict), join(values, " "), start,
                       number(res.inefficiency, 17),
                       flags.empty() ? std::string("-") : join(flags, ","));
  }

  std::string convergence_nonfinite_line(int64_t step, uint64_t frame, const char *setting)
  {
    return fmt::format("{} {} nonfinite - none none none none none none none none {}", step,
                       frame, setting);
  }

}    // namespace forecast_report
}    // namespace LAMMPS_NS
