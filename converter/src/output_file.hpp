// Writing a tool's output file without harming anything the user did not ask to write: the one
// place pfrt-convert, pfrt-run --predictions and the test fixtures write files.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pfrt::convert {

// Writes `bytes` to `path`. Throws ConvertError naming the path and the reason.
// - A path that names one of this process's descriptors (/dev/stdout, /dev/stderr, /dev/fd/N,
//   /proc/self/fd/N) is written to that descriptor, in place: `-o /dev/stdout | ...` works.
// - /dev/null is written in place (the bytes are discarded), never replaced.
// - A symbolic link is followed (a dangling one too): the file it names is written, the link
//   stays.
// - A regular file, or a path that does not exist yet, is written to a temporary file in the
//   same folder, fsync'd and renamed into place: readers see the old file or the complete new
//   one, and a failure leaves the old file as it was.
// - Anything else (a directory, a FIFO, a socket, a block or other character device) is refused:
//   renaming over it would replace a node of the system, and writing into it is not what an
//   output file means.
void write_output_file(const std::string& path, const std::vector<uint8_t>& bytes);

// Checks, before any long work, that write_output_file(path) can succeed as far as the file
// system says now (the kind of file, the folder exists and is writable). Throws ConvertError.
void check_output_path(const std::string& path);

// True when both paths exist and name the same file (same device and inode, links followed).
bool same_file(const std::string& a, const std::string& b);

}  // namespace pfrt::convert
