/* -*- c++ -*- ----------------------------------------------------------
   How fix forecast reports what happened: one line per decision for the
   screen/log file and one for the decision file, and the same for a
   non-finite sample. Pure text composition from an sf_event, kept apart from
   the fix so that each line is built in one place and says one consistent
   thing: what was decided, what the fix does now, and why.

   A value the library reports as absent (NaN in sf_event, e.g. the cut of a
   stage that can never halt) is written as "none", never as a number.

   The model-free convergence mode has its own lines (its checks are not a
   model's decisions): each says that a converged check is converged by the
   run's own statistics, not calibrated.
------------------------------------------------------------------------- */

#ifndef LMP_FORECAST_REPORT_H
#define LMP_FORECAST_REPORT_H

#include "simforecast.h"

#include <cstdint>
#include <string>

namespace LAMMPS_NS {
namespace forecast_report {

  // What fix forecast does about one decision (the same on every rank).
  enum class Response {
    GO_ON,    // the run goes on
    HALT,     // a confident irrelevant verdict under 'action halt' ends the run
    STOP      // the forecast is written and 'after stop' ends the run
  };

  // advise: the fix runs under 'action advise', so a verdict that would halt is reported as such.

  // The screen/log line of a decision (no newline).
  std::string message(const std::string &fix_id, int64_t step, const sf_event &ev, Response r,
                      bool advise);

  // The decision-file line of a decision (no newline), in the columns of file_header().
  std::string file_line(int64_t step, const sf_event &ev, Response r, bool advise);

  // The column names of the decision file, as a comment line (no newline).
  const char *file_header();

  // "Fix forecast ID: input X is not a finite number on step S (value V, frame F)".
  std::string nonfinite_message(const std::string &fix_id, const std::string &input, int64_t step,
                                uint64_t frame, double value);

  // The decision-file line of a non-finite sample (no newline): kind "nonfinite", no stage and
  // no values; its flag is the 'nonfinite' setting that applied (error, stop or continue).
  std::string nonfinite_line(int64_t step, uint64_t frame, const char *setting);

  // ---- the model-free convergence mode

  // The name of an SF_CONVERGENCE_VERDICT_* in the file: converged, too-wide, drifting, ...
  const char *convergence_verdict_name(int32_t verdict);

  // The screen/log line of a converged check (no newline); r is STOP or GO_ON.
  std::string convergence_message(const std::string &fix_id, int64_t step,
                                  const sf_convergence_result &res, double tolerance,
                                  double drift, Response r);

  // The column names of the decision file in convergence mode, as a comment line.
  const char *convergence_file_header();

  // The decision-file line of one check (no newline), in the columns of convergence_file_header().
  std::string convergence_file_line(int64_t step, const sf_convergence_result &res, Response r);

  // The decision-file line of a non-finite sample in convergence mode (no newline).
  std::string convergence_nonfinite_line(int64_t step, uint64_t frame, const char *setting);

}    // namespace forecast_report
}    // namespace LAMMPS_NS

#endif
