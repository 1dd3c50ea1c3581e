# Post-processing a fitted brmsfit: every function returns plain data frames / lists that the
# bridge converts, so brms stays the authority on the numbers.

pybrms_draws <- function(fit, variables = NULL) {
  d <- posterior::as_draws_df(fit, variable = variables)
  out <- as.data.frame(d)
  out
}

pybrms_variables <- function(fit) posterior::variables(fit)

pybrms_fixef <- function(fit, probs) {
  fe <- brms::fixef(fit, probs = probs)
  data.frame(term = rownames(fe), as.data.frame(fe), check.names = FALSE, row.names = NULL)
}

pybrms_ranef <- function(fit, probs) {
  re <- brms::ranef(fit, probs = probs)
  rows <- list()
  for (g in names(re)) {
    a <- re[[g]]
    for (t in dimnames(a)[[3]]) {
      m <- a[, , t, drop = FALSE][, , 1]
      if (is.null(dim(m))) m <- matrix(m, nrow = 1, dimnames = list(dimnames(a)[[1]], names(m)))
      rows[[length(rows) + 1]] <- data.frame(
        group = g, level = rownames(m), term = t, as.data.frame(m),
        check.names = FALSE, row.names = NULL
      )
    }
  }
  do.call(rbind, rows)
}

pybrms_summary <- function(fit, probs) {
  d <- posterior::as_draws_df(fit)
  s <- posterior::summarise_draws(
    d, mean = mean, sd = stats::sd,
    ~stats::quantile(.x, probs = probs, names = TRUE),
    rhat = posterior::rhat, ess_bulk = posterior::ess_bulk, ess_tail = posterior::ess_tail
  )
  as.data.frame(s)
}

# The group-level SDs and correlations and the residual SD (brms names), as pybrms_summary.
pybrms_ran_pars <- function(fit, probs) {
  vars <- posterior::variables(fit)
  keep <- vars[grepl("^(sd|cor)_", vars) | vars == "sigma"]
  if (length(keep) == 0L) return(NULL)
  d <- posterior::subset_draws(posterior::as_draws_df(fit), variable = keep)
  s <- posterior::summarise_draws(
    d, mean = mean, sd = stats::sd,
    ~stats::quantile(.x, probs = probs, names = TRUE)
  )
  as.data.frame(s)
}

pybrms_hypothesis <- function(fit, hypotheses, alpha, class, robust) {
  h <- brms::hypothesis(fit, hypotheses, alpha = alpha, class = class, robust = robust)
  as.data.frame(h$hypothesis)
}

pybrms_sampler_params <- function(fit) {
  sp <- rstan::get_sampler_params(fit$fit, inc_warmup = FALSE)
  rows <- lapply(seq_along(sp), function(i) {
    data.frame(.chain = i, .iteration = seq_len(nrow(sp[[i]])), sp[[i]], check.names = FALSE)
  })
  do.call(rbind, rows)
}

pybrms_max_treedepth <- function(fit) {
  ctrl <- fit$fit@stan_args[[1]]$control
  if (is.null(ctrl$max_treedepth)) 10L else as.integer(ctrl$max_treedepth)
}

pybrms_log_lik <- function(fit) brms::log_lik(fit)

pybrms_standata <- function(fit) {
  sd <- brms::standata(fit)
  lapply(unclass(sd), function(x) x)
}

pybrms_nobs <- function(fit) nrow(fit$data)
