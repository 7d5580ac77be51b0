#pragma once
// Endpoint files: where a process that bound to an ephemeral port
// (tcp://127.0.0.1:*) records the endpoints it got, for scripts and tests.
//
// Format: one `role=endpoint` line per bound socket, e.g.
//
//   tasks=tcp://127.0.0.1:40123
//   results=tcp://127.0.0.1:40125
//
// Readers skip blank lines and lines starting with '#'. A role is 1 or more
// characters from [A-Za-z0-9._-]; an endpoint is any non-empty text without
// a line break.

#include <filesystem>
#include <map>
#include <string>

namespace mkmap::transport {

/// Writes role=endpoint lines to path atomically: the text goes to a
/// temporary file in the same folder, which is then renamed over path, so a
/// reader sees the old file or the complete new one.
/// Throws: EndpointFileError naming the file or the invalid role or endpoint.
void write_endpoint_file(const std::filesystem::path& path,
                         const std::map<std::string, std::string>& endpoints);

/// Reads an endpoint file into a role -> endpoint map.
/// Throws: EndpointFileError naming the file and line if it is missing or
/// malformed, or repeats a role.
[[nodiscard]] std::map<std::string, std::string> read_endpoint_file(
    const std::filesystem::path& path);

}  // namespace mkmap::transport
