# Reference values for crimeprev's multistage Taylor variances: strata at the
# second stage, finite population corrections at both stages, and every
# lonely-PSU option at both stages, also for a variable with missing values (na.rm = TRUE).
# Run with R's survey package:
#   Rscript make_reference.R
# It writes design.csv (the fictional sample) and reference.csv (R's results).
suppressMessages(library(survey))
set.seed(20261129)
rows <- list()
ssu_id <- 0
h2_id <- 0
# Stage 1: three strata; stratum 3 has a single sampled PSU (lonely at stage 1).
psus <- data.frame(h1 = c(1, 1, 1, 2, 2, 3), psu = 1:6, N1 = c(10, 10, 10, 6, 6, 4))
for (i in seq_len(nrow(psus))) {
  # Stage 2: two strata inside each PSU; in PSUs 2 and 5 the second has one SSU.
  for (k in 1:2) {
    h2_id <- h2_id + 1
    n2 <- if (k == 2 && psus$psu[i] %in% c(2, 5)) 1 else sample(2:4, 1)
    N2 <- n2 + sample(1:6, 1)
    for (j in seq_len(n2)) {
      ssu_id <- ssu_id + 1
      n3 <- sample(1:3, 1)
      for (m in seq_len(n3)) {
        rows[[length(rows) + 1]] <- data.frame(
          h1 = psus$h1[i], psu = psus$psu[i], N1 = psus$N1[i], h2 = h2_id, ssu = ssu_id,
          N2 = N2, y = round(rgamma(1, 2, 0.2), 1), d = sample(0:1, 1))
      }
    }
  }
}
d <- do.call(rbind, rows)
n1 <- ave(d$psu, d$h1, FUN = function(x) length(unique(x)))
n2 <- ave(d$ssu, d$h2, FUN = function(x) length(unique(x)))
d$w <- d$N1 / n1 * d$N2 / n2
d$ym <- ifelse(d$ssu %% 4 == 0, NA, d$y)  # y with missing values, for na.rm = TRUE
write.csv(d, "design.csv", row.names = FALSE)
results <- list()
for (option in c("remove", "certainty", "adjust", "average")) {
  options(survey.lonely.psu = option)
  des <- svydesign(ids = ~psu + ssu, strata = ~h1 + h2, fpc = ~N1 + N2, weights = ~w,
                   data = d, nest = TRUE)
  total <- suppressWarnings(svytotal(~y, des))
  mean <- suppressWarnings(svymean(~y, des))
  by <- suppressWarnings(svyby(~y, ~d, des, svymean))
  mean_m <- suppressWarnings(svymean(~ym, des, na.rm = TRUE))
  by_m <- suppressWarnings(svyby(~ym, ~d, des, svymean, na.rm = TRUE))
  results[[option]] <- data.frame(
    lonely_psu = option,
    variable = c("y", "y", "y", "y", "ym", "ym", "ym"),
    statistic = c("total", "mean", "mean", "mean", "mean", "mean", "mean"),
    domain = c("all", "all", paste0("d=", by$d), "all", paste0("d=", by_m$d)),
    estimate = c(coef(total), coef(mean), coef(by), coef(mean_m), coef(by_m)),
    se = c(SE(total), SE(mean), SE(by), SE(mean_m), SE(by_m)))
}
write.csv(do.call(rbind, results), "reference.csv", row.names = FALSE)
cat("survey", as.character(packageVersion("survey")), "on", R.version.string, "\n")
