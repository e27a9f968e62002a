// Reading an input file whole, with errors that name the file and the problem (a directory, a
// missing or unreadable file): what pfrt-convert's readers and the tools' IDX reader share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfrt::convert {

// Why `path` cannot be read as a file ("is a directory, not a file", "No such file or
// directory", ...), or "" when it can be opened.
std::string unreadable_reason(const std::string& path);

// The file's bytes. Throws ConvertError "<path>: <problem>".
std::vector<uint8_t> read_input_file(const std::string& path);

}  // namespace pfrt::convert
