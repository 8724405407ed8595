#include "models/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string_view>

namespace kiln::models {
namespace {

constexpr int kBarWidth = 24;
constexpr auto kRedrawInterval = std::chrono::milliseconds(100);

Progress::Mode mode_for(std::FILE* out) {
  if (out == nullptr) return Progress::Mode::quiet;
  const char* forced = std::getenv("KILN_PROGRESS");
  if (forced != nullptr && std::string_view(forced) == "lines") return Progress::Mode::lines;
  return ::isatty(::fileno(out)) != 0 ? Progress::Mode::bar : Progress::Mode::lines;
}

}  // namespace

std::string clock_text(double seconds) {
  const auto total = static_cast<std::int64_t>(std::llround(std::max(seconds, 0.0)));
  if (total >= 3600)
    return fmt::format("{}:{:02}:{:02}", total / 3600, total / 60 % 60, total % 60);
  return fmt::format("{}:{:02}", total / 60, total % 60);
}

Progress::Progress(std::FILE* out) : out_(out), mode_(mode_for(out)) {}

void Progress::start_epoch(int epoch, int epochs, std::int64_t batches, std::int64_t first_batch) {
  epoch_ = epoch;
  epochs_ = epochs;
  batches_ = batches;
  first_batch_ = first_batch;
  start_ = Clock::now();
  last_draw_ = start_ - kRedrawInterval;
  logged_ = false;
  drawn_ = false;
}

void Progress::step(std::int64_t batch, std::int64_t images) {
  if (mode_ != Mode::bar) return;
  const auto now = Clock::now();
  if (now - last_draw_ < kRedrawInterval && batch < batches_) return;
  last_draw_ = now;
  draw(batch, images);
}

void Progress::log(std::int64_t batch, std::int64_t images, double loss, double accuracy) {
  loss_ = loss;
  accuracy_ = accuracy;
  logged_ = true;
  if (mode_ == Mode::lines) {
    const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    fmt::print(out_, "epoch {}/{} batch {}/{}: loss {:.4f}, accuracy {:.2f}% ({:.0f} images/s)\n",
               epoch_, epochs_, batch, batches_, loss, 100 * accuracy,
               static_cast<double>(images) / std::max(seconds, 1e-9));
    std::fflush(out_);
  } else if (mode_ == Mode::bar) {
    draw(batch, images);
  }
}

void Progress::draw(std::int64_t batch, std::int64_t images) {
  const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  const double fraction = batches_ > 0 ? static_cast<double>(batch) / batches_ : 1.0;
  const auto filled = static_cast<int>(fraction * kBarWidth);
  const double done_here = static_cast<double>(batch - first_batch_);
  const double rate = done_here > 0 ? seconds / done_here : 0;  // seconds per batch
  const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                          std::string(static_cast<std::size_t>(kBarWidth - filled), '-');
  const std::string metrics =
      logged_ ? fmt::format(" | loss {:.4f} acc {:.2f}%", loss_, 100 * accuracy_) : "";
  // \r returns to the line's start and \x1b[K clears what a longer previous draw left.
  fmt::print(out_, "\r\x1b[Kepoch {}/{} [{}] {}/{} {:3.0f}% | {:.0f} img/s{} | {} < {}", epoch_,
             epochs_, bar, batch, batches_, 100 * fraction,
             static_cast<double>(images) / std::max(seconds, 1e-9), metrics, clock_text(seconds),
             clock_text(rate * static_cast<double>(batches_ - batch)));
  std::fflush(out_);
  drawn_ = true;
}

void Progress::end_epoch() {
  if (mode_ == Mode::bar && drawn_) {
    fmt::print(out_, "\n");
    std::fflush(out_);
  }
  drawn_ = false;
}

void Progress::print(const std::string& line) {
  if (mode_ == Mode::quiet) return;
  if (mode_ == Mode::bar && drawn_) {
    fmt::print(out_, "\r\x1b[K");
    drawn_ = false;
  }
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
}

}  // namespace kiln::models
