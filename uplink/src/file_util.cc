#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace uplink::internal {

using rules::ErrorCode;
using rules::Fail;

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

std::string ErrnoMessage(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

rules::Result<void> FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return Fail(ErrorCode::kIo, ErrnoMessage("open directory", dir, errno));
  }
  if (::fsync(fd.get()) != 0) {
    return Fail(ErrorCode::kIo, ErrnoMessage("fsync directory", dir, errno));
  }
  return {};
}

namespace {

bool WriteAll(int fd, std::span<const uint8_t> data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data = data.subspan(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

rules::Result<void> WriteFileAtomic(const std::string& dir, const std::string& name,
                                    std::span<const uint8_t> data, mode_t mode, bool replace) {
  const std::string temp = dir + "/" + kTempPrefix + name;
  const std::string final_path = dir + "/" + name;
  ::unlink(temp.c_str());  // a stale leftover of a crash; absent is the normal case
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) {
    return Fail(ErrorCode::kIo, ErrnoMessage("create", temp, errno));
  }
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlink(temp.c_str());
    return Fail(ErrorCode::kIo, ErrnoMessage(what, temp, err));
  };
  if (::fchmod(fd.get(), mode) != 0) {  // the umask may have removed bits; it never adds any
    return fail("chmod");
  }
  if (!WriteAll(fd.get(), data)) {
    return fail("write");
  }
  if (::fsync(fd.get()) != 0) {
    return fail("fsync");
  }
  if (::close(fd.release()) != 0) {
    return fail("close");
  }
  if (replace) {
    if (::rename(temp.c_str(), final_path.c_str()) != 0) {
      return fail("rename to " + final_path + " from");
    }
  } else {
    if (::link(temp.c_str(), final_path.c_str()) != 0) {
      return fail("link to " + final_path + " from");
    }
    ::unlink(temp.c_str());
  }
  return FsyncDir(dir);
}

rules::Result<std::vector<uint8_t>> ReadFileBounded(const std::string& path, size_t max_bytes,
                                                    bool* too_large) {
  *too_large = false;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) {
    int err = errno;
    return Fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                ErrnoMessage("open", path, err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Fail(ErrorCode::kIo, ErrnoMessage("stat", path, errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kIo, path + ": not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    *too_large = true;
    return std::vector<uint8_t>{};
  }
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return Fail(ErrorCode::kIo, ErrnoMessage("read", path, errno));
    }
    if (n == 0) {
      break;  // the file shrank under us: hand back what is there, the parser will judge
    }
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

void SplitPath(const std::string& path, std::string* dir, std::string* name) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    dir->assign(1, '.');  // assign(".") trips g++ 12's -Wrestrict false positive
    *name = path;
  } else {
    *dir = slash == 0 ? std::string(1, '/') : path.substr(0, slash);
    *name = path.substr(slash + 1);
  }
}

}  // namespace uplink::internal
