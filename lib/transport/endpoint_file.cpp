#include "transport/endpoint_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include "transport/errors.hpp"

namespace mkmap::transport {
namespace {

namespace fs = std::filesystem;

/// Mode of a new endpoint file before the umask. Endpoints are not secret.
constexpr mode_t kEndpointFileMode = 0644;

bool is_valid_role(const std::string& role) {
  if (role.empty()) {
    return false;
  }
  for (const char c : role) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                         c == '-';
    if (!allowed) {
      return false;
    }
  }
  return true;
}

bool is_valid_endpoint(const std::string& endpoint) {
  return !endpoint.empty() &&
         endpoint.find_first_of("\r\n") == std::string::npos;
}

std::string format_endpoints(const fs::path& path,
                             const std::map<std::string, std::string>& endpoints) {
  std::string text;
  for (const auto& [role, endpoint] : endpoints) {
    if (!is_valid_role(role)) {
      throw EndpointFileError("cannot write endpoint file " + path.string() +
                              ": invalid role \"" + role +
                              "\"; use characters from A-Z, a-z, 0-9, '.', "
                              "'_' and '-'");
    }
    if (!is_valid_endpoint(endpoint)) {
      throw EndpointFileError("cannot write endpoint file " + path.string() +
                              ": the endpoint of role \"" + role +
                              "\" is empty or contains a line break");
    }
    text += role + "=" + endpoint + "\n";
  }
  return text;
}

/// Writes text to a new file at temporary_path and flushes it to disk.
/// Returns 0 or the errno of the first failed call.
int write_temporary_file(const fs::path& temporary_path, const std::string& text) {
  const int fd = ::open(temporary_path.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kEndpointFileMode);
  if (fd < 0) {
    return errno;
  }

  int error = 0;
  std::size_t done = 0;
  while (done < text.size() && error == 0) {
    const ssize_t count = ::write(fd, text.data() + done, text.size() - done);
    if (count < 0 && errno != EINTR) {
      error = errno;
    } else if (count > 0) {
      done += static_cast<std::size_t>(count);
    }
  }
  if (error == 0 && ::fsync(fd) != 0) {
    error = errno;
  }
  if (::close(fd) != 0 && error == 0) {
    error = errno;
  }
  return error;
}

}  // namespace

void write_endpoint_file(const fs::path& path,
                         const std::map<std::string, std::string>& endpoints) {
  const std::string text = format_endpoints(path, endpoints);

  // The process id keeps two writers of the same file from sharing a
  // temporary file.
  fs::path temporary_path = path;
  temporary_path += ".tmp." + std::to_string(::getpid());

  int error = write_temporary_file(temporary_path, text);
  if (error == 0 && ::rename(temporary_path.c_str(), path.c_str()) != 0) {
    error = errno;
  }
  if (error != 0) {
    ::unlink(temporary_path.c_str());
    throw EndpointFileError("cannot write endpoint file " + path.string() +
                            ": " + std::system_category().message(error));
  }
}

std::map<std::string, std::string> read_endpoint_file(const fs::path& path) {
  std::ifstream file(path);
  if (!file) {
    throw EndpointFileError("cannot open endpoint file " + path.string() +
                            ": " + std::system_category().message(errno));
  }

  std::map<std::string, std::string> endpoints;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || line.front() == '#') {
      continue;
    }

    const auto equals = line.find('=');
    const std::string role = line.substr(0, equals);
    const std::string endpoint =
        equals == std::string::npos ? std::string() : line.substr(equals + 1);
    const std::string where =
        "endpoint file " + path.string() + ", line " + std::to_string(line_number);
    if (equals == std::string::npos || !is_valid_role(role) ||
        !is_valid_endpoint(endpoint)) {
      throw EndpointFileError(where + ": expected role=endpoint, got \"" +
                              line + "\"");
    }
    if (!endpoints.emplace(role, endpoint).second) {
      throw EndpointFileError(where + ": role \"" + role +
                              "\" appears more than once");
    }
  }
  if (file.bad()) {
    throw EndpointFileError("cannot read endpoint file " + path.string());
  }
  return endpoints;
}

}  // namespace mkmap::transport
