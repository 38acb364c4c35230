// Errors of the engine. Every message names what is at fault (file, tensor, field) and, where it
// applies, what was expected and what was found. Bad input throws glm::Error; it never aborts.
#pragma once
#include <stdexcept>
#include <string>

namespace glm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when an operation was cancelled through its cancel flag (e.g. a long prefill).
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace glm
