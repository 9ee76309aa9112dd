// Streams a LAMMPS trace through a simforecast model, frame by frame, as a simulation code would,
// and prints what the model decides, using the C++ API.
//
//   forecast_trace <model.sfm> <trace.dat>
//
// The trace is a `fix ave/time` file: '#' comment lines, then "step value" rows.
#include <cstdint>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "simforecast.hpp"

int main(int argc, char **argv)
{
    if (argc != 3) {
        std::cerr << "usage: " << argv[0] << " <model.sfm> <trace.dat>\n";
        return 2;
    }
    std::ifstream trace(argv[2]);
    if (!trace) {
        std::cerr << "error: cannot open " << argv[2] << "\n";
        return 1;
    }
    try {
        // Owners (rust::Box) free the model and the monitor; the monitor keeps the model alive.
        rust::Box<simforecast::Model> model = simforecast::load_model(argv[1]); // throws with the reason
        rust::Box<simforecast::Monitor> monitor = simforecast::new_monitor(*model);
        static const char *const verdicts[] = {"relevant", "irrelevant", "unsure"};
        std::uint64_t frames = 0, used = 0;
        long long first_step = 0;
        bool halted = false;
        std::string line;
        while (std::getline(trace, line)) {
            long long step;
            double value;
            std::istringstream row(line);
            if (line.empty() || line[0] == '#' || !(row >> step >> value))
                continue;
            ++frames;
            if (halted)
                continue; // only counting the frames the halt saved
            if (frames == 1)
                first_step = step;
            if (frames == 2 && static_cast<std::uint64_t>(step - first_step) != model->frame_spacing()) {
                std::cerr << "error: the trace has a frame every " << step - first_step << " steps, the model expects "
                          << model->frame_spacing() << "\n";
                return 1;
            }
            const simforecast::Event e = monitor->push(value); // throws on NaN/Inf
            used = frames;
            if (e.flags & simforecast::EVENT_SCREEN)
                std::cout << "step " << step << " (frame " << e.frame << "): screening: " << verdicts[e.verdict]
                          << " (vote " << e.vote << ", score " << e.score << ", cut " << e.cut << ")" << (e.advisory ? " [advisory]" : "")
                          << (e.ood ? " [out of distribution]" : "") << "\n";
            if (e.flags & simforecast::EVENT_FORECAST)
                std::cout << "step " << step << " (frame " << e.frame << "): forecast: mu-sigma " << e.mu_minus_sigma
                          << ", mu+sigma " << e.mu_plus_sigma << "; mu in [" << e.mu_low << ", " << e.mu_high
                          << "] (" << 100 * e.level << "%)" << (e.confident ? "" : " [wide interval]") << "\n";
            if (e.halt) {
                std::cout << "step " << step << " (frame " << e.frame
                          << "): HALT: the run is predicted irrelevant; stop it here\n";
                halted = true;
            }
        }
        std::cout << frames << " frames in the trace; " << used << " needed" << (halted ? " (halted)" : "") << "\n";
    } catch (const std::exception &e) { // rust::Error carries the library's message
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
