// Test client that sends raw bytes to a sink or a ventilator as an
// authorized CURVE client, so that end-to-end tests can feed the servers
// malformed and forged messages.
//
// Usage: mkmap-raw-sender --socket push|dealer --endpoint ENDPOINT
//            --key SECRET_KEY_FILE --server-key PUBLIC_KEY_FILE FILE...
// Each FILE is sent as one message; "A+B" sends files A and B as two frames
// of one message. Exit status: 0 sent, 1 failed, 2 bad option.

#include <CLI/CLI.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "transport/key_file.hpp"
#include "transport/socket_options.hpp"

namespace {

// A send that cannot start within this time fails instead of blocking,
// for example when the handshake never succeeds.
constexpr std::chrono::milliseconds kSendTimeout{10000};
// Time for queued messages to reach the server after the last send.
constexpr std::chrono::milliseconds kLinger{5000};

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("file " + path + " not found or not readable");
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::vector<std::string> split_frames(const std::string& argument) {
  std::vector<std::string> frames;
  std::stringstream stream(argument);
  std::string path;
  while (std::getline(stream, path, '+')) frames.push_back(read_bytes(path));
  return frames;
}

void send_message(zmq::socket_t& socket, const std::vector<std::string>& frames,
                  const std::string& label) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
    if (!socket.send(zmq::buffer(frames[i]), flags)) {
      throw std::runtime_error("sending " + label + " timed out after " +
                               std::to_string(kSendTimeout.count()) + " ms");
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_kind = "push";
  std::string endpoint;
  std::string key_file;
  std::string server_key_file;
  std::vector<std::string> messages;

  CLI::App app{"Sends files as raw messages to an mkmap server, as an authorized CURVE client"};
  app.add_option("--socket", socket_kind, "push (a sink's results) or dealer (a ventilator's tasks)")
      ->check(CLI::IsMember({"push", "dealer"}));
  app.add_option("--endpoint", endpoint, "server endpoint, e.g. tcp://127.0.0.1:5558")
      ->required();
  app.add_option("--key", key_file, "this client's secret key file")->required();
  app.add_option("--server-key", server_key_file, "the server's public key file")->required();
  app.add_option("messages", messages, "files to send, one message each; A+B sends two frames")
      ->required();
  CLI11_PARSE(app, argc, argv);

  try {
    const mkmap::transport::KeyPair key = mkmap::transport::load_secret_key_file(key_file);
    const std::string server_key = mkmap::transport::load_public_key_file(server_key_file);

    zmq::context_t context;
    zmq::socket_t socket(context, socket_kind == "push" ? zmq::socket_type::push
                                                        : zmq::socket_type::dealer);
    mkmap::transport::make_curve_client(socket, key, server_key);
    socket.set(zmq::sockopt::sndtimeo, static_cast<int>(kSendTimeout.count()));
    socket.set(zmq::sockopt::linger, static_cast<int>(kLinger.count()));
    socket.connect(endpoint);

    for (const std::string& message : messages) {
      send_message(socket, split_frames(message), message);
    }
    std::cout << "sent " << messages.size() << " messages to " << endpoint << "\n";
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "mkmap-raw-sender: " << endpoint << ": " << error.what() << "\n";
    return 1;
  }
}
