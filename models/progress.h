// What a person sees while a run trains. On a terminal: one bar per epoch, redrawn in place at
// most ten times a second (step/total, images/s, the last logged loss and accuracy, elapsed and
// ETA), left on screen when the epoch ends. Elsewhere (CI, a pipe, a file): a plain line at every
// log point, as the reference PyTorch programs print. Quiet: nothing. Only the host's step count is
// read per step; the loss and accuracy shown are those read back at log points, so the bar costs
// the GPU nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace kiln::models {

class Progress {
 public:
  enum class Mode { quiet, lines, bar };

  // `out` null means quiet; a terminal gets the bar unless KILN_PROGRESS=lines.
  explicit Progress(std::FILE* out);
  // For tests: a given mode whatever `out` is.
  Progress(std::FILE* out, Mode mode) : out_(out), mode_(out == nullptr ? Mode::quiet : mode) {}

  Mode mode() const { return mode_; }

  void start_epoch(int epoch, int epochs, std::int64_t batches, std::int64_t first_batch);
  // After each step: `batch` steps of the epoch done, `images` trained since start_epoch.
  void step(std::int64_t batch, std::int64_t images);
  // At a log point, with what was read back: the mean loss since the last log point and the
  // epoch's accuracy so far.
  void log(std::int64_t batch, std::int64_t images, double loss, double accuracy);
  // Ends the bar's line, so that the epoch's summary prints below it.
  void end_epoch();
  // A line of text between the progress output (the epoch summary, a "Saving model" line).
  void print(const std::string& line);

 private:
  using Clock = std::chrono::steady_clock;
  void draw(std::int64_t batch, std::int64_t images);

  std::FILE* out_;
  Mode mode_;
  int epoch_ = 0;
  int epochs_ = 0;
  std::int64_t batches_ = 0;
  std::int64_t first_batch_ = 0;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  double loss_ = 0;
  double accuracy_ = 0;
  bool logged_ = false;
  bool drawn_ = false;
};

// "1:02:03" or "2:03": hours only when there are any.
std::string clock_text(double seconds);

}  // namespace kiln::models
