package io.rlstream.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The run report in a real browser: Debian's Chromium (installed by {@code
 * scripts/install-chromium.sh} when missing), headless, opens {@code report.html} from disk with
 * the network off; the DOM it builds holds one figure per measured chart, every series drawn as a
 * path of many points, and the screenshot shows the series' colour where the charts are.
 */
class RunReportChromiumIT {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");

  @Test
  void chartsRenderInHeadlessChromium(@TempDir Path tmp) throws Exception {
    Path run = tmp.resolve("run");
    Files.createDirectories(run);
    writeRun(run);
    Path report = RunReport.write(run);
    ensureChromium();

    String dom = chromium(tmp, "--dump-dom", report);
    Matcher figures = Pattern.compile("<figure class=\"chart\">").matcher(dom);
    int charts = 0;
    while (figures.find()) {
      charts++;
    }
    Matcher paths =
        Pattern.compile("<path class=\"series\" data-series=\"([^\"]+)\" d=\"([^\"]*)\"")
            .matcher(dom);
    List<String> drawn = new ArrayList<>();
    while (paths.find()) {
      int points = paths.group(2).split("[ML]").length - 1;
      assertThat(points).as("points of %s", paths.group(1)).isGreaterThan(20);
      drawn.add(paths.group(1));
    }
    Path png = tmp.resolve("report.png");
    chromium(tmp, "--screenshot=" + png, report);
    BufferedImage image = ImageIO.read(png.toFile());
    long blue = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y);
        int r = (rgb >> 16) & 0xff;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        if (Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40) {
          blue++;
        }
      }
    }
    System.out.printf(
        Locale.ROOT,
        "report %s: %d charts in Chromium's DOM, series %s; screenshot %dx%d with %d pixels in the"
            + " first series' colour (%s)%n",
        report,
        charts,
        drawn,
        image.getWidth(),
        image.getHeight(),
        blue,
        png);
    assertThat(charts).isEqualTo(16); // 8 over time, 8 over steps (no preference pairs here)
    assertThat(drawn).contains("heldout_accuracy", "kl", "staleness_0", "judge_cost_usd");
    assertThat(blue).isGreaterThan(3000);
  }

  private static void ensureChromium() throws Exception {
    if (!Files.isExecutable(CHROMIUM)) {
      Path script =
          Path.of(System.getProperty("user.dir"))
              .getParent()
              .resolve("scripts/install-chromium.sh");
      Process p = new ProcessBuilder("bash", script.toString()).inheritIO().start();
      assertThat(p.waitFor(600, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("scripts/install-chromium.sh").isZero();
    }
  }

  private static String chromium(Path tmp, String what, Path page) throws Exception {
    List<String> cmd =
        List.of(
            CHROMIUM.toString(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--user-data-dir=" + tmp.resolve("profile-" + System.nanoTime()),
            "--window-size=1240,4200",
            what,
            page.toUri().toString());
    File out = tmp.resolve("chromium-" + System.nanoTime() + ".out").toFile();
    Process p =
        new ProcessBuilder(cmd)
            .redirectOutput(out)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finishes").isTrue();
    assertThat(p.exitValue()).as("chromium exit status").isZero();
    return Files.readString(out.toPath(), StandardCharsets.UTF_8);
  }

  /** A run directory as the demo writes it: 60 progress lines and 300 steps. */
  private static void writeRun(Path run) throws Exception {
    StringBuilder progress =
        new StringBuilder(
            "seconds,version,step,train_reward,heldout_accuracy,accuracy_version,samples_per_s,"
                + "judge_lag,learner_lag,staleness_mean,throttled_s,judge_latency_ms,"
                + "judge_cost_usd,learner_tokens_per_s\n");
    for (int i = 0; i < 60; i++) {
      progress.append(
          String.format(
              Locale.ROOT,
              "%.1f,%d,%d,%.4f,%.4f,%d,%.1f,%d,%d,%.3f,%.1f,%.3f,%.6f,%.1f%n",
              5.0 * (i + 1),
              2 * i,
              5 * i,
              0.1 + 0.01 * i,
              0.13 + 0.01 * i,
              2 * i,
              700 + 50 * Math.sin(i),
              i % 7,
              16 + i % 5,
              1.2 + 0.1 * Math.cos(i),
              0.0,
              1.5 + Math.sin(i),
              0.001 * i,
              2500.0 + 10 * i));
    }
    Files.writeString(run.resolve("progress.csv"), progress);
    StringBuilder steps =
        new StringBuilder(
            "step,version,loss,reward_mean,grad_norm,tokens,staleness_mean,staleness_max,"
                + "groups_consumed,step_seconds,clip_frac,entropy,"
                + String.join(",", RunLog.EXTRA)
                + ",staleness_0,staleness_1,staleness_2_3,staleness_4_7,staleness_8_15,"
                + "staleness_16_up\n");
    for (int i = 1; i <= 300; i++) {
      steps.append(
          String.format(
              Locale.ROOT,
              "%d,%d,%.6f,%.4f,%.4f,%d,%.3f,%d,%d,%.4f,%.4f,%.4f,"
                  + "%.4f,%.4f,%.4f,%.1f,0,NaN,NaN,NaN,NaN,%d,%d,%d,0,0,0%n",
              i,
              i / 2,
              0.5 / Math.sqrt(i),
              0.1 + i / 400.0,
              1.0,
              400,
              1.3,
              3,
              16 * i,
              0.12,
              0.05,
              1.9 - i / 400.0,
              0.4,
              0.001 * i,
              0.95,
              3200.0,
              5 + i % 3,
              8,
              3 - i % 3));
    }
    Files.writeString(run.resolve("steps.csv"), steps);
    Files.writeString(run.resolve("summary.json"), "{\n  \"acc_before\": 0.13\n}\n");
  }
}
