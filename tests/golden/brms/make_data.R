# Makes the datasets the brms tests use. Run from this folder: Rscript make_data.R
# Made 2026-11-22 with R 4.2.2, lme4 1.1-31 (Debian bookworm packages).
# Values are written with few decimals so that R's read.csv and pandas.read_csv parse them
# to the same doubles: the plain-R fits and the pybrms fits then see identical data.
sleep <- lme4::sleepstudy
write.csv(sleep, "sleepstudy.csv", row.names = FALSE)

set.seed(20261122)
n_user <- 40; conv_per_user <- 3; resp_per_conv <- 3; n_model <- 6
user <- rep(sprintf("u%02d", seq_len(n_user)), each = conv_per_user * resp_per_conv)
conv <- rep(sprintf("c%03d", seq_len(n_user * conv_per_user)), each = resp_per_conv)
model <- sample(sprintf("m%d", seq_len(n_model)), length(user), replace = TRUE)
x1 <- round(rnorm(length(user)), 4)
x2 <- round(runif(length(user)), 4)
u_eff <- rnorm(n_user, 0, 0.6)[as.integer(factor(user))]
c_eff <- rnorm(n_user * conv_per_user, 0, 0.4)[as.integer(factor(conv))]
m_eff <- rnorm(n_model, 0, 0.5)[as.integer(factor(model))]
eta <- -0.3 + 0.8 * x1 - 1.0 * x2 + u_eff + c_eff + m_eff
y <- rbinom(length(eta), 1, plogis(eta))
write.csv(data.frame(y, x1, x2, user, conv, model), "bern.csv", row.names = FALSE)
