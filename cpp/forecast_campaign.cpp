/* ----------------------------------------------------------------------
   fix forecast: its campaign mode, see forecast_campaign.h.

   Where libsimforecast_campaign.so is looked for, in order:
     1. $SIMFORECAST_CAMPAIGN_LIBRARY (a file; when set, the only place looked);
     2. the directory of the module holding this fix (next to forecastplugin.so, or
        next to an lmp with the fix compiled in);
     3. the directory baked in at build time (SIMFORECAST_CAMPAIGN_LIBDIR, CMake's
        install directory);
     4. the plain name, through the dynamic loader's own search (LD_LIBRARY_PATH, ...).
------------------------------------------------------------------------- */

#include "forecast_campaign.h"

#include "comm.h"
#include "error.h"
#include "fix.h"
#include "forecast_bcast.h"
#include "utils.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

using namespace LAMMPS_NS;

namespace {

const char *const LIBRARY_NAME = "libsimforecast_campaign.so";

// A symbol of this module, for dladdr.
void this_module() {}

std::string directory_of(const std::string &file)
{
  const auto slash = file.rfind('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

// The directory of the shared object (or executable) holding this code.
std::string module_directory()
{
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&this_module), &info) && info.dli_fname &&
      strchr(info.dli_fname, '/')) {
    char real[PATH_MAX];
    if (realpath(info.dli_fname, real)) return directory_of(real);
    return directory_of(info.dli_fname);
  }
  // the main program may be reported by its bare name
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return "";
  exe[n] = '\0';
  return directory_of(exe);
}

}    // namespace

// The library's functions, resolved by name.
struct ForecastCampaign::Api {
  decltype(&sf_campaign_abi_version) abi_version;
  decltype(&sf_campaign_last_error) last_error;
  decltype(&sf_campaign_open_resumable) open_resumable;
  decltype(&sf_campaign_set_restart) set_restart;
  decltype(&sf_campaign_close) close;
  decltype(&sf_campaign_message) message;
  decltype(&sf_campaign_tolerance) tolerance;
  decltype(&sf_campaign_newest_model) newest_model;
  decltype(&sf_campaign_override) override_for;
  decltype(&sf_campaign_record) record;
  decltype(&sf_campaign_maybe_retrain) maybe_retrain;
};

/* ---------------------------------------------------------------------- */

ForecastCampaign::ForecastCampaign(LAMMPS *lmp, Fix *fix, const std::string &d,
                                   const std::string &name) :
    Pointers(lmp), owner(fix), dir(d), run_id(name), library(nullptr), api(nullptr),
    handle(nullptr), tolerance_value(std::nan("")), version(0), halted_frames(0),
    overridden_decision(), override_verdict(SF_CAMPAIGN_IGNORE), done(false)
{
}

ForecastCampaign::~ForecastCampaign()
{
  if (api && handle) api->close(handle);
  delete api;
  // the library stays loaded: its runtime (threads of the training) may outlive the handle
}

/* ----------------------------------------------------------------------
   rank 0: find and load the library, resolve its functions, check its ABI
------------------------------------------------------------------------- */

bool ForecastCampaign::load_library(std::string &why)
{
  std::vector<std::string> candidates;
  const char *env = getenv("SIMFORECAST_CAMPAIGN_LIBRARY");
  if (env && *env) {
    candidates.emplace_back(env);
  } else {
    const std::string here = module_directory();
    if (!here.empty()) candidates.push_back(here + "/" + LIBRARY_NAME);
#ifdef SIMFORECAST_CAMPAIGN_LIBDIR
    candidates.push_back(std::string(SIMFORECAST_CAMPAIGN_LIBDIR) + "/" + LIBRARY_NAME);
#endif
    candidates.emplace_back(LIBRARY_NAME);
  }
  std::string tried;
  for (const auto &c : candidates) {
    // RTLD_LOCAL: the library's Rust runtime stays out of the global namespace
    library = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library) break;
    const char *e = dlerror();
    std::string reason = e ? e : "not loadable";
    // dlerror() names the file itself first
    if (reason.rfind(c + ": ", 0) == 0) reason.erase(0, c.size() + 2);
    tried += fmt::format("\n  {}: {}", c, reason);
  }
  if (!library) {
    why = fmt::format("cannot load the campaign library {} (it holds the training code, loaded "
                      "only with the 'campaign' keyword). Looked in:{}\nInstall it with the "
                      "plugin, or set SIMFORECAST_CAMPAIGN_LIBRARY to its path",
                      LIBRARY_NAME, env && *env ? tried + " (SIMFORECAST_CAMPAIGN_LIBRARY)" : tried);
    return false;
  }
  api = new Api();
  bool missing = false;
  std::string names;
  auto resolve = [&](auto &fn, const char *name) {
    void *sym = dlsym(library, name);
    if (!sym) {
      missing = true;
      names += std::string(" ") + name;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(sym);
  };
  resolve(api->abi_version, "sf_campaign_abi_version");
  resolve(api->last_error, "sf_campaign_last_error");
  resolve(api->open_resumable, "sf_campaign_open_resumable");
  resolve(api->set_restart, "sf_campaign_set_restart");
  resolve(api->close, "sf_campaign_close");
  resolve(api->message, "sf_campaign_message");
  resolve(api->tolerance, "sf_campaign_tolerance");
  resolve(api->newest_model, "sf_campaign_newest_model");
  resolve(api->override_for, "sf_campaign_override");
  resolve(api->record, "sf_campaign_record");
  resolve(api->maybe_retrain, "sf_campaign_maybe_retrain");
  Dl_info info;
  const std::string file = (api->abi_version &&
                            dladdr(reinterpret_cast<void *>(api->abi_version), &info) &&
                            info.dli_fname)
      ? info.dli_fname
      : LIBRARY_NAME;
  if (missing) {
    why = fmt::format("the campaign library {} lacks{}: not a simforecast campaign library",
                      file, names);
  } else if (api->abi_version() != SF_CAMPAIGN_ABI_VERSION) {
    why = fmt::format("the campaign library {} implements campaign C ABI {}, this fix was "
                      "compiled for {}: install the library of the same simforecast version",
                      file, api->abi_version(), SF_CAMPAIGN_ABI_VERSION);
  } else {
    return true;
  }
  delete api;
  api = nullptr;
  return false;
}

/* ---------------------------------------------------------------------- */

void ForecastCampaign::open(const std::string &input_column)
{
  column = input_column;
  const int me = comm->me;
  int ok = 1;
  std::string why;
  if (me == 0) {
    if (!load_library(why)) {
      ok = 0;
    } else if (!(handle = api->open_resumable(dir.c_str(), run_id.c_str(), column.c_str(),
                                              static_cast<int64_t>(owner->nevery),
                                              &halted_frames))) {
      ok = 0;
      why = api->last_error();
    } else {
      description = api->message(handle);
      const char *file = nullptr;
      if (api->tolerance(handle, &tolerance_value) != SF_CAMPAIGN_OK ||
          api->newest_model(handle, &version, &file) != SF_CAMPAIGN_OK) {
        ok = 0;
        why = api->last_error();
      } else if (file) {
        path = file;
      }
    }
  }
  if (forecast_bcast::failed(ok, why, me, world))
    error->all(FLERR, "Fix forecast {} campaign '{}' (run {}): {}", owner->id, dir, run_id, why);
  MPI_Bcast(&tolerance_value, 1, MPI_DOUBLE, 0, world);
  MPI_Bcast(&version, 1, MPI_UINT32_T, 0, world);
  MPI_Bcast(&halted_frames, 1, MPI_UINT64_T, 0, world);
  path = forecast_bcast::text(path, me, world);
}

/* ---------------------------------------------------------------------- */

void ForecastCampaign::sample(double value)
{
  if (comm->me == 0) values.push_back(value);
}

/* ---------------------------------------------------------------------- */

int32_t ForecastCampaign::judge(const sf_event &ev, bool halt)
{
  int ok = 1;
  std::string why;
  int32_t verdict = SF_CAMPAIGN_IGNORE;
  sf_campaign_decision d;
  memset(&d, 0, sizeof(d));
  d.kind = halt ? SF_CAMPAIGN_DECISION_HALT : SF_CAMPAIGN_DECISION_FORECAST;
  d.ood = ev.ood;
  d.frame = ev.frame;
  d.mu_hat = halt ? std::nan("") : 0.5 * (ev.mu_minus_sigma + ev.mu_plus_sigma);
  d.mu_low = halt ? std::nan("") : ev.mu_low;
  d.mu_high = halt ? std::nan("") : ev.mu_high;
  d.level = halt ? std::nan("") : ev.level;
  if (comm->me == 0 && api->override_for(handle, &d, &verdict) != SF_CAMPAIGN_OK) {
    ok = 0;
    why = api->last_error();
  }
  // The campaign could not say (its directory unreadable now): the run goes on, recorded as
  // if nothing had been decided, rather than act on a decision nobody can audit.
  if (forecast_bcast::failed(ok, why, comm->me, world)) {
    if (comm->me == 0)
      error->warning(FLERR,
                     "Fix forecast {}: campaign '{}' cannot judge the decision at frame {} ({}); "
                     "the run goes on",
                     owner->id, dir, ev.frame, why);
    return SF_CAMPAIGN_IGNORE;
  }
  MPI_Bcast(&verdict, 1, MPI_INT32_T, 0, world);
  if (verdict == SF_CAMPAIGN_AUDIT || verdict == SF_CAMPAIGN_ADVISORY) {
    overridden_decision = d;
    override_verdict = verdict;
  }
  return verdict;
}

/* ----------------------------------------------------------------------
   rank 0: the trace of a run that could not be recorded, in the working
   directory, as a fix ave/time file `simforecast campaign record` takes;
   returns the sentence that says where it is and how to record it
------------------------------------------------------------------------- */

std::string ForecastCampaign::fallback(End end, uint64_t frames, uint64_t declared,
                                       const sf_event &forecast, const std::string &why)
{
  const std::string file = fmt::format("forecast-campaign-{}.trace", run_id);
  char cwd[PATH_MAX];
  const std::string where = getcwd(cwd, sizeof(cwd)) ? std::string(cwd) + "/" + file : file;
  std::string how;
  if (end == End::HALTED)
    how = fmt::format(" --halted-at {}{}", frames,
                      restart_file.empty() ? "" : " --restart " + restart_file);
  else if (end == End::STOPPED_AT_FORECAST)
    how = fmt::format(" --forecast-at {} --interval {} {}", frames, forecast.mu_low,
                      forecast.mu_high);
  if (declared > 0) how += fmt::format(" --declared-len {}", declared);
  FILE *f = fopen(file.c_str(), "w");
  bool written = f != nullptr;
  if (f) {
    fmt::print(f, "# simforecast campaign run {} (not recorded in '{}': {})\n# TimeStep {}\n",
               run_id, dir, why, column);
    for (size_t i = 0; i < values.size(); ++i)
      fmt::print(f, "{} {:.17g}\n", static_cast<int64_t>(i + 1) * owner->nevery, values[i]);
    written = (fflush(f) == 0) && !ferror(f);
    written = (fclose(f) == 0) && written;
  }
  if (!written)
    return fmt::format("its trace could not be saved either ({}: {}): the run's frames are lost "
                       "to the campaign",
                       where, utils::getsyserror());
  return fmt::format("its trace is saved in {}: record it later with `simforecast campaign "
                     "record {} {} --run-id {}{}`",
                     where, dir, where, run_id, how);
}

/* ---------------------------------------------------------------------- */

void ForecastCampaign::record(End end, uint64_t frames, uint64_t declared,
                              const sf_event &forecast)
{
  done = true;
  if (comm->me != 0) return;
  sf_campaign_outcome o;
  memset(&o, 0, sizeof(o));
  o.kind = end == End::FINISHED  ? SF_CAMPAIGN_FINISHED
      : end == End::HALTED       ? SF_CAMPAIGN_HALTED
                                 : SF_CAMPAIGN_STOPPED_AT_FORECAST;
  o.frame = frames;
  o.mu_hat = 0.5 * (forecast.mu_minus_sigma + forecast.mu_plus_sigma);
  o.mu_low = forecast.mu_low;
  o.mu_high = forecast.mu_high;
  const bool audited = end == End::FINISHED && overridden();
  int32_t rc = SF_CAMPAIGN_OK;
  if (end == End::HALTED && !restart_file.empty()) {
    // absolute: `campaign status` is run from anywhere
    char cwd[PATH_MAX];
    if (restart_file[0] != '/' && getcwd(cwd, sizeof(cwd)))
      restart_file = std::string(cwd) + "/" + restart_file;
    rc = api->set_restart(handle, restart_file.c_str());
  }
  if (rc == SF_CAMPAIGN_OK)
    rc = api->record(handle, values.data(), values.size(), declared, &o, version,
                                 audited ? &overridden_decision : nullptr,
                                 audited ? override_verdict : SF_CAMPAIGN_IGNORE);
  if (rc != SF_CAMPAIGN_OK) {
    const std::string why = api->last_error();
    error->warning(FLERR, "Fix forecast {}: run {} could not be recorded in campaign '{}': {}; {}",
                   owner->id, run_id, dir, why, fallback(end, frames, declared, forecast, why));
    return;
  }
  utils::logmesg(lmp, "fix forecast {}: campaign '{}': {}\n", owner->id, dir, api->message(handle));

  int32_t what = SF_CAMPAIGN_RETRAIN_NOT_DUE;
  uint32_t published = 0;
  if (api->maybe_retrain(handle, &what, &published) != SF_CAMPAIGN_OK)
    error->warning(FLERR,
                   "Fix forecast {}: campaign '{}': retraining could not run ({}); the run is "
                   "recorded, a later run retrains",
                   owner->id, dir, api->last_error());
  else if (what == SF_CAMPAIGN_RETRAIN_FAILED)
    error->warning(FLERR, "Fix forecast {}: campaign '{}': {}", owner->id, dir,
                   api->message(handle));
  else
    utils::logmesg(lmp, "fix forecast {}: campaign '{}': {}\n", owner->id, dir,
                   api->message(handle));
}
