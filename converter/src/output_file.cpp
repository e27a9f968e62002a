#include "output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "convert_error.hpp"

namespace pfrt::convert {

namespace {

// How an output path is written (see write_output_file).
struct Target {
  enum Kind { kDescriptor, kInPlace, kRename } kind = kRename;
  int fd = -1;       // kDescriptor
  std::string path;  // the file written, symbolic links followed
  bool exists = false;
  mode_t mode = 0;  // the existing file's permissions (kRename)
};

// The descriptor a path names (/dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N), or -1.
int descriptor_of(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const size_t n = std::strlen(prefix);
    if (path.compare(0, n, prefix) != 0 || path.size() == n || path.size() > n + 6) continue;
    int fd = 0;
    for (size_t i = n; i < path.size(); ++i) {
      if (path[i] < '0' || path[i] > '9') return -1;
      fd = fd * 10 + (path[i] - '0');
    }
    return fd;
  }
  return -1;
}

bool is_dev_null(const struct stat& st) {
  struct stat null_st;
  return S_ISCHR(st.st_mode) && ::stat("/dev/null", &null_st) == 0 && S_ISCHR(null_st.st_mode) &&
         st.st_rdev == null_st.st_rdev;
}

const char* kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISCHR(mode)) return "a character device";
  return "not a regular file";
}

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

// Follows symbolic links to the path they finally name, which need not exist yet.
std::string follow_links(const std::string& path) {
  std::string p = path;
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p;
    std::string target(PATH_MAX, '\0');
    const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
    if (n < 0) throw ConvertError(path + ": cannot read the symbolic link '" + p + "': " + std::strerror(errno));
    target.resize(size_t(n));
    p = target.empty() || target[0] == '/' ? target : folder_of(p) + "/" + target;
  }
  throw ConvertError(path + ": too many levels of symbolic links");
}

Target resolve(const std::string& path) {
  if (path.empty()) throw ConvertError("the output path is empty");
  Target t;
  t.fd = descriptor_of(path);
  if (t.fd >= 0) {
    if (::fcntl(t.fd, F_GETFD) < 0) throw ConvertError(path + ": descriptor " + std::to_string(t.fd) + " is not open");
    t.kind = Target::kDescriptor;
    t.path = path;
    return t;
  }
  t.path = follow_links(path);
  struct stat st;
  if (::stat(t.path.c_str(), &st) != 0) {
    if (errno != ENOENT) throw ConvertError(path + ": cannot write there: " + std::strerror(errno));
    return t;  // a new file
  }
  t.exists = true;
  if (S_ISREG(st.st_mode)) {
    t.mode = st.st_mode & 07777;
    return t;
  }
  if (is_dev_null(st)) {
    t.kind = Target::kInPlace;
    return t;
  }
  throw ConvertError(path + (t.path == path ? "" : " (-> " + t.path + ")") + " is " + kind_name(st.st_mode) +
                     ": the output must be a regular file or a new path (or /dev/stdout, /dev/null)");
}

// Returns 0, or the errno of the write that failed.
int write_all(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += size_t(n);
  }
  return 0;
}

// Temporary file in the destination folder, fsync, then rename.
void write_by_rename(const Target& t, const std::string& asked, const std::vector<uint8_t>& bytes) {
  const std::string folder = folder_of(t.path);
  const size_t slash = t.path.find_last_of('/');
  const std::string base = slash == std::string::npos ? t.path : t.path.substr(slash + 1);
  std::string temp = folder + "/." + base + ".tmp-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0)
    throw ConvertError(asked + ": cannot create a temporary file in '" + folder + "': " + std::strerror(errno));
  auto give_up = [&](const std::string& what, int error) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw ConvertError(asked + ": " + what + ": " + std::strerror(error));
  };
  mode_t mode = t.mode;
  if (!t.exists) {
    mode = ::umask(0);
    ::umask(mode);
    mode = 0666 & ~mode;
  }
  if (::fchmod(fd, mode) != 0) give_up("cannot set permissions", errno);
  if (const int error = write_all(fd, bytes)) give_up("write failed", error);
  if (::fsync(fd) != 0) give_up("fsync failed", errno);
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw ConvertError(asked + ": close failed: " + std::strerror(error));
  }
  if (::rename(temp.c_str(), t.path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp.c_str());
    throw ConvertError(asked + ": cannot rename the temporary file into place: " + std::strerror(error));
  }
}

}  // namespace

void check_output_path(const std::string& path) {
  const Target t = resolve(path);
  if (t.kind != Target::kRename) return;
  const std::string folder = folder_of(t.path);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw ConvertError(path + ": the folder '" + folder + "' does not exist");
  }
  if (::access(folder.c_str(), W_OK) != 0) {
    throw ConvertError(path + ": cannot write in the folder '" + folder + "': " + std::strerror(errno));
  }
}

void write_output_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  const Target t = resolve(path);
  if (t.kind == Target::kDescriptor) {
    if (const int error = write_all(t.fd, bytes)) throw ConvertError(path + ": write failed: " + std::strerror(error));
  } else if (t.kind == Target::kInPlace) {
    const int fd = ::open(t.path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw ConvertError(path + ": cannot open for writing: " + std::strerror(errno));
    const int error = write_all(fd, bytes);
    ::close(fd);
    if (error) throw ConvertError(path + ": write failed: " + std::strerror(error));
  } else {
    write_by_rename(t, path, bytes);
  }
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

}  // namespace pfrt::convert
