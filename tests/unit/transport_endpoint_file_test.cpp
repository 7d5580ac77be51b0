#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <zmq.hpp>

#include "transport/endpoint_file.hpp"
#include "transport/errors.hpp"
#include "transport/socket_options.hpp"

namespace fs = std::filesystem;
using namespace mkmap::transport;
using mkmap::test::TempDir;

namespace {

}  // namespace

TEST_CASE("endpoint file round trip", "[transport][endpoints]") {
  TempDir dir;
  zmq::context_t context;
  zmq::socket_t tasks(context, zmq::socket_type::push);
  zmq::socket_t results(context, zmq::socket_type::pull);
  apply_common_options(tasks);
  apply_common_options(results);
  tasks.bind("tcp://127.0.0.1:*");
  results.bind("tcp://127.0.0.1:*");

  const std::map<std::string, std::string> endpoints = {
      {"tasks", last_endpoint(tasks)}, {"results", last_endpoint(results)}};
  CHECK(endpoints.at("tasks").rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(endpoints.at("tasks") != "tcp://127.0.0.1:*");
  CHECK(endpoints.at("tasks") != endpoints.at("results"));

  const fs::path path = dir.path() / "endpoints";
  write_endpoint_file(path, endpoints);
  CHECK(read_endpoint_file(path) == endpoints);

  // A second write replaces the file and leaves no temporary file behind.
  write_endpoint_file(path, {{"status", "tcp://127.0.0.1:1"}});
  CHECK(read_endpoint_file(path) ==
        std::map<std::string, std::string>{{"status", "tcp://127.0.0.1:1"}});
  CHECK(std::distance(fs::directory_iterator(dir.path()),
                      fs::directory_iterator()) == 1);
}

TEST_CASE("endpoint file format", "[transport][endpoints]") {
  TempDir dir;
  const fs::path path = dir.path() / "endpoints";
  write_endpoint_file(path, {{"b", "inproc://x"}, {"a", "tcp://127.0.0.1:5"}});

  std::ifstream file(path);
  const std::string text((std::istreambuf_iterator<char>(file)),
                         std::istreambuf_iterator<char>());
  CHECK(text == "a=tcp://127.0.0.1:5\nb=inproc://x\n");
}

TEST_CASE("endpoint file invalid", "[transport][endpoints]") {
  TempDir dir;
  const fs::path path = dir.path() / "endpoints";

  CHECK_THROWS_AS(write_endpoint_file(path, {{"a=b", "tcp://127.0.0.1:5"}}),
                  EndpointFileError);
  CHECK_THROWS_AS(write_endpoint_file(path, {{"a", "tcp://x\nb=y"}}),
                  EndpointFileError);
  CHECK_FALSE(fs::exists(path));

  CHECK_THROWS_AS(read_endpoint_file(dir.path() / "absent"), EndpointFileError);

  {
    std::ofstream file(path);
    file << "# endpoints\n\ntasks=tcp://127.0.0.1:5\nnot an endpoint line\n";
  }
  try {
    (void)read_endpoint_file(path);
    FAIL("expected an EndpointFileError");
  } catch (const EndpointFileError& error) {
    CHECK(std::string(error.what()).find("line 4") != std::string::npos);
  }

  {
    std::ofstream file(path);
    file << "tasks=tcp://127.0.0.1:5\ntasks=tcp://127.0.0.1:6\n";
  }
  CHECK_THROWS_AS(read_endpoint_file(path), EndpointFileError);
}

TEST_CASE("socket common options", "[transport][sockets]") {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::pull);
  apply_common_options(socket, 1024);

  CHECK(socket.get(zmq::sockopt::linger) == kLinger.count());
  CHECK(socket.get(zmq::sockopt::handshake_ivl) == kHandshakeInterval.count());
  CHECK(socket.get(zmq::sockopt::maxmsgsize) == 1024);

  zmq::socket_t defaults(context, zmq::socket_type::pull);
  apply_common_options(defaults);
  CHECK(defaults.get(zmq::sockopt::maxmsgsize) == kDefaultMaxMessageSize_bytes);
}

TEST_CASE("socket curve server options", "[transport][sockets]") {
  zmq::context_t context;
  zmq::socket_t socket(context, zmq::socket_type::pull);
  KeyPair server{"server", "", ""};
  CHECK_THROWS_AS(make_curve_server(socket, server), KeyError);

  server = generate_key_pair("server");
  make_curve_server(socket, server);
  CHECK(socket.get(zmq::sockopt::curve_server));
  CHECK(socket.get(zmq::sockopt::zap_domain) == "mkmap");

  int enforce = 0;
  size_t size = sizeof enforce;
  REQUIRE(zmq_getsockopt(socket.handle(), kZapEnforceDomainOption, &enforce,
                         &size) == 0);
  CHECK(enforce == 1);
}
