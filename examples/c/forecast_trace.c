/*
 * Streams a LAMMPS trace through a simforecast model, frame by frame, as a simulation code would,
 * and prints what the model decides: screening verdicts, a halt, the forecast of mu - sigma and
 * mu + sigma.
 *
 *   forecast_trace <model.sfm> <trace.dat>
 *
 * The trace is a `fix ave/time` file: '#' comment lines, then "step value" rows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "simforecast.h"

static const char *verdict_name(int32_t verdict)
{
    switch (verdict) {
    case SF_VERDICT_RELEVANT: return "relevant";
    case SF_VERDICT_IRRELEVANT: return "irrelevant";
    default: return "unsure";
    }
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s <model.sfm> <trace.dat>\n", argv[0]);
        return 2;
    }
    if (sf_abi_version() != SF_ABI_VERSION) {
        fprintf(stderr, "error: simforecast library ABI %d, header %d\n", sf_abi_version(), SF_ABI_VERSION);
        return 1;
    }
    sf_model *model = sf_model_load(argv[1]);
    if (!model) {
        fprintf(stderr, "error: %s\n", sf_last_error());
        return 1;
    }
    FILE *trace = fopen(argv[2], "r");
    if (!trace) {
        perror(argv[2]);
        sf_model_free(model);
        return 1;
    }
    uint64_t spacing = 0;
    sf_model_frame_spacing(model, &spacing);
    sf_monitor *monitor = sf_monitor_new(model);
    sf_model_free(model); /* the monitor keeps its own reference */

    int status = 0, halted = 0;
    uint64_t frames = 0, used = 0;
    long long step = 0, first_step = 0;
    double value = 0.0;
    char line[4096];
    while (fgets(line, sizeof line, trace)) {
        if (line[0] == '#' || sscanf(line, "%lld %lf", &step, &value) != 2)
            continue;
        ++frames;
        if (halted)
            continue; /* only counting the frames the halt saved */
        if (frames == 1)
            first_step = step;
        if (frames == 2 && (uint64_t)(step - first_step) != spacing) {
            fprintf(stderr, "error: the trace has a frame every %lld steps, the model expects %llu\n",
                    step - first_step, (unsigned long long)spacing);
            status = 1;
            break;
        }
        sf_event ev;
        if (sf_monitor_push(monitor, value, &ev) != SF_OK) {
            fprintf(stderr, "error at step %lld: %s\n", step, sf_last_error());
            status = 1;
            break;
        }
        used = frames;
        if (ev.flags & SF_EVENT_SCREEN)
            printf("step %lld (frame %llu): screening: %s (vote %.3f, score %.3f, cut %.3g)%s%s\n", step,
                   (unsigned long long)ev.frame, verdict_name(ev.verdict), ev.vote, ev.score, ev.cut,
                   ev.advisory ? " [advisory]" : "", ev.ood ? " [out of distribution]" : "");
        if (ev.flags & SF_EVENT_FORECAST)
            printf("step %lld (frame %llu): forecast: mu-sigma %.4g, mu+sigma %.4g; mu in [%.4g, %.4g] "
                   "(%.0f%%)%s\n",
                   step, (unsigned long long)ev.frame, ev.mu_minus_sigma, ev.mu_plus_sigma, ev.mu_low,
                   ev.mu_high, 100.0 * ev.level, ev.confident ? "" : " [wide interval]");
        if (ev.halt) {
            printf("step %lld (frame %llu): HALT: the run is predicted irrelevant; stop it here\n", step,
                   (unsigned long long)ev.frame);
            halted = 1;
        }
    }
    fclose(trace);
    if (status == 0)
        printf("%llu frames in the trace; %llu needed%s\n", (unsigned long long)frames,
               (unsigned long long)used, halted ? " (halted)" : "");
    sf_monitor_free(monitor);
    return status;
}
