// Uses the C++ API from an outside project: simforecast.hpp (with the cxx headers shipped in the
// package) compiles, links, and a failing call throws rust::Error carrying the library's message.
#include <cstring>
#include <iostream>

#include "simforecast.hpp"

int main()
{
    const char *path = "/nonexistent/simforecast/model.sfm";
    try {
        rust::Box<simforecast::Model> model = simforecast::load_model(path);
        std::cerr << "loading a missing model file succeeded\n";
        return 1;
    } catch (const rust::Error &e) {
        if (!std::strstr(e.what(), path)) {
            std::cerr << "the error does not name the file: '" << e.what() << "'\n";
            return 1;
        }
        std::cout << "C++ API: missing model -> " << e.what() << "\n";
    }
    return 0;
}
