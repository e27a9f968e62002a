// write_output_file: the one way the tools write files. A regular file or a new path is replaced
// by rename; links are followed; devices, FIFOs and directories are never replaced.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert_error.hpp"
#include "output_file.hpp"
#include "support/test_models.hpp"

using pfrt::convert::ConvertError;
using pfrt::convert::write_output_file;
using pfrt::test::TempDir;

namespace {

const std::vector<uint8_t> kBytes = {'n', 'e', 'w', '\n'};

mode_t lstat_mode(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode;
}

std::string write_error(const std::string& path) {
  try {
    write_output_file(path, kBytes);
  } catch (const ConvertError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("output file: a regular file is replaced whole, keeping its permissions, no temporary left") {
  TempDir dir;
  const std::string path = dir.write_text("out.txt", "old contents, longer than the new");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  write_output_file(path, kBytes);
  CHECK(pfrt::test::read_file(path) == kBytes);
  CHECK((lstat_mode(path) & 0777) == 0640);
  CHECK(dir.list().size() == 1);
  write_output_file(dir.file("new.txt"), kBytes);
  CHECK(pfrt::test::read_file(dir.file("new.txt")) == kBytes);
}

TEST_CASE("output file: a symbolic link is followed, not replaced (a dangling one too)") {
  TempDir dir;
  const std::string target = dir.write_text("target.txt", "old");
  REQUIRE(::symlink("target.txt", dir.file("link").c_str()) == 0);
  write_output_file(dir.file("link"), kBytes);
  CHECK(S_ISLNK(lstat_mode(dir.file("link"))));
  CHECK(pfrt::test::read_file(target) == kBytes);

  REQUIRE(::symlink(dir.file("later.txt").c_str(), dir.file("dangling").c_str()) == 0);
  write_output_file(dir.file("dangling"), kBytes);
  CHECK(S_ISLNK(lstat_mode(dir.file("dangling"))));
  CHECK(pfrt::test::read_file(dir.file("later.txt")) == kBytes);
}

TEST_CASE("output file: a FIFO, a directory and a device are refused and left as they are") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(write_error(fifo).find("fifo is a FIFO: the output must be a regular file or a new path") != std::string::npos);
  CHECK(S_ISFIFO(lstat_mode(fifo)));

  REQUIRE(::symlink("fifo", dir.file("to-fifo").c_str()) == 0);
  CHECK(write_error(dir.file("to-fifo")).find("to-fifo (-> " + dir.path() + "/fifo) is a FIFO") != std::string::npos);

  REQUIRE(::mkdir(dir.file("folder").c_str(), 0700) == 0);
  CHECK(write_error(dir.file("folder")).find("folder is a directory") != std::string::npos);
  CHECK(S_ISDIR(lstat_mode(dir.file("folder"))));

  // /dev/zero is never renamed over, even by root (which may rename in /dev).
  CHECK(write_error("/dev/zero").find("/dev/zero is a character device") != std::string::npos);
  CHECK(S_ISCHR(lstat_mode("/dev/zero")));
  CHECK(dir.list().size() == 3);
}

TEST_CASE("output file: /dev/null and this process's descriptors are written in place") {
  write_output_file("/dev/null", kBytes);
  CHECK(S_ISCHR(lstat_mode("/dev/null")));

  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  write_output_file("/dev/fd/" + std::to_string(pipe_fds[1]), kBytes);
  std::vector<uint8_t> got(16);
  const ssize_t n = ::read(pipe_fds[0], got.data(), got.size());
  REQUIRE(n == ssize_t(kBytes.size()));
  got.resize(size_t(n));
  CHECK(got == kBytes);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  CHECK(write_error("/dev/fd/" + std::to_string(pipe_fds[1])).find("is not open") != std::string::npos);
}

TEST_CASE("output file: the folder of a new file is checked before any work") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(pfrt::convert::check_output_path(dir.file("missing/out.txt")),
                       doctest::Contains(("the folder '" + dir.path() + "/missing' does not exist").c_str()),
                       ConvertError);
  CHECK_NOTHROW(pfrt::convert::check_output_path(dir.file("out.txt")));
  CHECK_NOTHROW(pfrt::convert::check_output_path("/dev/stdout"));
}

TEST_CASE("output file: same_file sees hard and symbolic links") {
  TempDir dir;
  const std::string a = dir.write_text("a", "x");
  dir.write_text("b", "x");
  REQUIRE(::link(a.c_str(), dir.file("hard").c_str()) == 0);
  REQUIRE(::symlink("a", dir.file("soft").c_str()) == 0);
  CHECK(pfrt::convert::same_file(a, dir.file("hard")));
  CHECK(pfrt::convert::same_file(dir.file("soft"), a));
  CHECK_FALSE(pfrt::convert::same_file(a, dir.file("b")));
  CHECK_FALSE(pfrt::convert::same_file(a, dir.file("none")));
}
