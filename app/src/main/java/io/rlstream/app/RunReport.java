package io.rlstream.app;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A run directory's {@code report.html}: one static page, charts drawn as inline SVG from {@code
 * progress.csv} (over wall time: held-out accuracy, reward, throughput, lag, staleness, judge
 * latency and cost) and {@code steps.csv} (over learner steps: loss, reward, KL, entropy, clip
 * fraction, effective sample size, the staleness histogram, gradient norm). No script, no network:
 * it opens offline in any browser, and a chart whose columns hold no numbers is left out.
 */
final class RunReport {
  private static final String[] COLOURS = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"
  };
  static final int WIDTH = 560;
  static final int HEIGHT = 230;

  /** A chart: title, x column, series columns (with display names), and the table they are in. */
  record Chart(String title, String x, String xLabel, List<String> series, Table table) {}

  /** A CSV file read as columns of numbers (NaN where a cell is empty or not a number). */
  record Table(Map<String, double[]> columns, int rows) {
    static Table read(Path csv) {
      if (!Files.exists(csv)) {
        return new Table(Map.of(), 0);
      }
      try {
        List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
          return new Table(Map.of(), 0);
        }
        String[] header = lines.get(0).split(",");
        int rows = lines.size() - 1;
        Map<String, double[]> cols = new HashMap<>();
        for (String h : header) {
          cols.put(h.trim(), new double[rows]);
        }
        for (int r = 0; r < rows; r++) {
          String[] cells = lines.get(r + 1).split(",", -1);
          for (int c = 0; c < header.length; c++) {
            double v;
            try {
              v = c < cells.length ? Double.parseDouble(cells[c].trim()) : Double.NaN;
            } catch (NumberFormatException e) {
              v = Double.NaN;
            }
            cols.get(header[c].trim())[r] = v;
          }
        }
        return new Table(cols, rows);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + csv, e);
      }
    }

    double[] column(String name) {
      return columns.get(name);
    }

    boolean hasNumbers(String name) {
      double[] c = columns.get(name);
      if (c == null) {
        return false;
      }
      for (double v : c) {
        if (Double.isFinite(v)) {
          return true;
        }
      }
      return false;
    }
  }

  private RunReport() {}

  /** Writes {@code dir/report.html} from the directory's CSV files; returns its path. */
  static Path write(Path dir) {
    Table progress = Table.read(dir.resolve("progress.csv"));
    Table steps = Table.read(dir.resolve("steps.csv"));
    List<Chart> charts = new ArrayList<>();
    String s = "seconds";
    String t = "elapsed seconds";
    charts.add(new Chart("Held-out accuracy", s, t, List.of("heldout_accuracy"), progress));
    charts.add(new Chart("Training reward", s, t, List.of("train_reward"), progress));
    charts.add(new Chart("Throughput: samples/s", s, t, List.of("samples_per_s"), progress));
    charts.add(
        new Chart("Learner throughput: tokens/s", s, t, List.of("learner_tokens_per_s"), progress));
    charts.add(new Chart("Lag (groups)", s, t, List.of("judge_lag", "learner_lag"), progress));
    charts.add(new Chart("Staleness (versions)", s, t, List.of("staleness_mean"), progress));
    charts.add(
        new Chart("Judge latency (ms per group)", s, t, List.of("judge_latency_ms"), progress));
    charts.add(
        new Chart("Judge cost (USD, cumulative)", s, t, List.of("judge_cost_usd"), progress));
    String st = "step";
    String sl = "learner step";
    charts.add(new Chart("Loss", st, sl, List.of("loss"), steps));
    charts.add(
        new Chart("Reward mean and std", st, sl, List.of("reward_mean", "reward_std"), steps));
    charts.add(new Chart("KL to the reference", st, sl, List.of("kl"), steps));
    charts.add(new Chart("Entropy", st, sl, List.of("entropy"), steps));
    charts.add(new Chart("Clip fraction", st, sl, List.of("clip_frac"), steps));
    charts.add(new Chart("Effective sample size", st, sl, List.of("ess"), steps));
    List<String> buckets = new ArrayList<>();
    for (String b : io.rlstream.learner.LearnerService.STALENESS_BUCKETS) {
      buckets.add("staleness_" + b);
    }
    charts.add(new Chart("Staleness histogram (groups per step)", st, sl, buckets, steps));
    charts.add(
        new Chart(
            "Preference pairs: margin, accuracy",
            st,
            sl,
            List.of("margin", "pair_accuracy"),
            steps));
    charts.add(new Chart("Gradient norm", st, sl, List.of("grad_norm"), steps));
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>rlstream run ")
        .append(escape(dir.getFileName() == null ? dir.toString() : dir.getFileName().toString()))
        .append("</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}")
        .append(".charts{display:flex;flex-wrap:wrap;gap:16px}")
        .append(".chart{border:1px solid #ddd;padding:8px;margin:0}h1{font-size:20px}")
        .append(
            "h2{font-size:14px;margin:0 0 4px 0}pre{background:#f6f6f6;padding:8px;white-space:pre-wrap}")
        .append("</style>")
        .append("</head>\n<body>\n<h1>rlstream run ")
        .append(escape(dir.toAbsolutePath().toString()))
        .append("</h1>\n");
    Path summary = dir.resolve("summary.json");
    if (Files.exists(summary)) {
      try {
        html.append("<pre class=\"summary\">")
            .append(escape(Files.readString(summary, StandardCharsets.UTF_8)))
            .append("</pre>\n");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    html.append("<div class=\"charts\">\n");
    int drawn = 0;
    for (Chart c : charts) {
      if (c.series().stream().anyMatch(c.table()::hasNumbers) && c.table().hasNumbers(c.x())) {
        html.append(svg(c));
        drawn++;
      }
    }
    html.append("</div>\n");
    if (drawn == 0) {
      html.append("<p>No measurements in this run directory yet.</p>\n");
    }
    html.append("</body></html>\n");
    Path out = dir.resolve("report.html");
    try {
      Files.writeString(out, html.toString(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + out, e);
    }
    return out;
  }

  /** One chart as an SVG figure: axes with 5 ticks each, a polyline per series, a legend. */
  static String svg(Chart c) {
    double[] x = c.table().column(c.x());
    int left = 56;
    int right = 24;
    int top = 10;
    int bottom = 40;
    int w = WIDTH - left - right;
    int h = HEIGHT - top - bottom;
    double xMin = Double.POSITIVE_INFINITY;
    double xMax = Double.NEGATIVE_INFINITY;
    double yMin = Double.POSITIVE_INFINITY;
    double yMax = Double.NEGATIVE_INFINITY;
    for (String name : c.series()) {
      double[] y = c.table().column(name);
      if (y == null) {
        continue;
      }
      for (int i = 0; i < y.length; i++) {
        if (Double.isFinite(y[i]) && Double.isFinite(x[i])) {
          xMin = Math.min(xMin, x[i]);
          xMax = Math.max(xMax, x[i]);
          yMin = Math.min(yMin, y[i]);
          yMax = Math.max(yMax, y[i]);
        }
      }
    }
    if (yMax - yMin < 1e-12) {
      yMin -= 0.5;
      yMax += 0.5;
    }
    if (xMax - xMin < 1e-12) {
      xMax = xMin + 1;
    }
    double pad = (yMax - yMin) * 0.05;
    yMin -= pad;
    yMax += pad;
    StringBuilder s = new StringBuilder();
    s.append("<figure class=\"chart\"><h2>").append(escape(c.title())).append("</h2>\n");
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d"
                + " %d\" role=\"img\" aria-label=\"%s\">\n",
            WIDTH,
            HEIGHT,
            WIDTH,
            HEIGHT,
            escape(c.title())));
    s.append(
        String.format(
            Locale.ROOT,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fff\" stroke=\"#999\"/>\n",
            left,
            top,
            w,
            h));
    for (int i = 0; i <= 4; i++) {
      double yv = yMin + (yMax - yMin) * i / 4;
      double py = top + h - h * i / 4.0;
      double xv = xMin + (xMax - xMin) * i / 4;
      double px = left + w * i / 4.0;
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                  + "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
              left,
              left + w,
              py,
              py,
              left - 4,
              py + 3,
              tick(yv)));
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
              px,
              top + h + 13,
              tick(xv)));
    }
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
            left + w / 2,
            HEIGHT - 14,
            escape(c.xLabel())));
    int k = 0;
    for (String name : c.series()) {
      double[] y = c.table().column(name);
      String colour = COLOURS[k % COLOURS.length];
      if (y != null) {
        StringBuilder d = new StringBuilder();
        boolean pen = false;
        int stride = Math.max(1, y.length / 1500); // a point per pixel or so
        for (int i = 0; i < y.length; i += stride) {
          if (!Double.isFinite(y[i]) || !Double.isFinite(x[i])) {
            pen = false;
            continue;
          }
          double px = left + w * (x[i] - xMin) / (xMax - xMin);
          double py = top + h - h * (y[i] - yMin) / (yMax - yMin);
          d.append(pen ? 'L' : 'M').append(String.format(Locale.ROOT, "%.1f %.1f ", px, py));
          pen = true;
        }
        s.append(
            String.format(
                Locale.ROOT,
                "<path class=\"series\" data-series=\"%s\" d=\"%s\" fill=\"none\" stroke=\"%s\""
                    + " stroke-width=\"1.6\"/>\n",
                escape(name),
                d.toString().trim(),
                colour));
      }
      s.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"3\" fill=\"%s\"/>"
                  + "<text x=\"%d\" y=\"%d\" font-size=\"10\">%s</text>\n",
              left + 4 + 120 * k,
              HEIGHT - 5,
              colour,
              left + 18 + 120 * k,
              HEIGHT - 1,
              escape(name)));
      k++;
    }
    s.append("</svg></figure>\n");
    return s.toString();
  }

  private static String tick(double v) {
    double a = Math.abs(v);
    if (a != 0 && (a >= 1e5 || a < 1e-3)) {
      return String.format(Locale.ROOT, "%.1e", v);
    }
    return String.format(Locale.ROOT, a >= 100 ? "%.0f" : a >= 1 ? "%.2f" : "%.3f", v);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;");
  }
}
