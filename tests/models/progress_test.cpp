// What a run prints while it trains: plain lines at log points where the output is not a
// terminal, an in-place bar where it is, nothing when quiet.
#include "models/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <regex>
#include <string>

namespace kiln::models {
namespace {

// Everything written to a temporary file by `write`.
template <typename Write>
std::string captured(Write write) {
  std::FILE* file = std::tmpfile();
  write(file);
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  while (const std::size_t read = std::fread(buffer, 1, sizeof buffer, file)) {
    text.append(buffer, read);
  }
  std::fclose(file);
  return text;
}

TEST(Progress, LinesModePrintsOnePlainLinePerLogPointAndNothingPerStep) {
  const std::string text = captured([](std::FILE* out) {
    Progress progress(out, Progress::Mode::lines);
    progress.start_epoch(2, 15, 1875, 0);
    for (int batch = 1; batch < 200; ++batch) progress.step(batch, batch * 32);
    progress.log(200, 6400, 0.123456, 0.9612);
    progress.end_epoch();
    progress.print("epoch 2/15: done");
  });
  EXPECT_TRUE(std::regex_match(
      text, std::regex("epoch 2/15 batch 200/1875: loss 0\\.1235, accuracy 96\\.12% \\([0-9]+ "
                       "images/s\\)\nepoch 2/15: done\n")))
      << text;
}

TEST(Progress, BarModeRedrawsInPlaceAndEndsTheLine) {
  const std::string text = captured([](std::FILE* out) {
    Progress progress(out, Progress::Mode::bar);
    progress.start_epoch(1, 1, 100, 0);
    progress.step(1, 32);  // the first step always draws
    progress.log(50, 1600, 0.5, 0.75);
    progress.step(100, 3200);  // the last step always draws
    progress.end_epoch();
    progress.print("after");
  });
  EXPECT_NE(text.find("\r\x1b[Kepoch 1/1 [------------------------] 1/100"), std::string::npos)
      << text;
  EXPECT_NE(text.find("[############------------] 50/100  50% |"), std::string::npos) << text;
  EXPECT_NE(text.find("| loss 0.5000 acc 75.00% |"), std::string::npos) << text;
  EXPECT_NE(text.find("[########################] 100/100 100%"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 7), "\nafter\n");
  EXPECT_EQ(text.find('\n'), text.size() - 7) << "the bar never starts a new line mid-epoch";
}

TEST(Progress, QuietPrintsNothing) {
  const std::string text = captured([](std::FILE* out) {
    Progress progress(out, Progress::Mode::quiet);
    progress.start_epoch(1, 1, 10, 0);
    progress.log(10, 320, 0.1, 0.9);
    progress.print("hidden");
    progress.end_epoch();
  });
  EXPECT_EQ(text, "");
  EXPECT_EQ(Progress(nullptr).mode(), Progress::Mode::quiet);
}

TEST(Progress, ClockTextShowsHoursOnlyWhenThereAreAny) {
  EXPECT_EQ(clock_text(0), "0:00");
  EXPECT_EQ(clock_text(61.4), "1:01");
  EXPECT_EQ(clock_text(3599.6), "1:00:00");
  EXPECT_EQ(clock_text(3723), "1:02:03");
  EXPECT_EQ(clock_text(-5), "0:00");
}

}  // namespace
}  // namespace kiln::models
