# What the fast engine (pybrms/engines/fast.py) takes from brms before it builds its PyMC
# model: brms's own prior table (defaults, data-dependent ones included, merged with the
# user's priors), brms's Stan data (design matrix, group-level index arrays and covariates;
# never a dense group matrix) and brms's description of the group-level terms, so the fast
# engine's model and names are brms's. No Stan program is generated or compiled.

# One call on the model brms built (pybrms_build: brm(..., empty = TRUE), so brms has already
# judged formula, family, priors and data): list(prior = data.frame, standata = list,
# ranef = data.frame, levels = list). The group-level structure is the brmsfit's documented
# `ranef` element, the prior table its prior_summary(all = TRUE).
pybrms_fast_inputs <- function(x) {
  re <- x$ranef
  levels <- attr(re, "levels")
  re_df <- if (NROW(re)) {
    data.frame(id = re$id, group = re$group, gn = re$gn, coef = re$coef, cn = re$cn,
               cor = re$cor, stringsAsFactors = FALSE)
  } else {
    data.frame(id = integer(0), group = character(0), gn = integer(0), coef = character(0),
               cn = integer(0), cor = logical(0), stringsAsFactors = FALSE)
  }
  sdata <- unclass(brms::standata(x))
  sdata$X_colnames <- colnames(sdata$X)
  list(
    prior = pybrms_fast_prior_frame(brms::prior_summary(x, all = TRUE)),
    standata = sdata,
    ranef = re_df,
    levels = if (is.null(levels)) list() else lapply(levels, as.character)
  )
}

# brms's prior table (brmsprior) as a plain data frame with character columns.
pybrms_fast_prior_frame <- function(p) {
  df <- as.data.frame(p)
  keep <- c("prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub", "source")
  out <- df[, intersect(keep, names(df)), drop = FALSE]
  for (k in names(out)) out[[k]] <- as.character(out[[k]])
  attr(out, "special") <- NULL
  attr(out, "sample_prior") <- NULL
  rownames(out) <- NULL
  out
}

# The prior table brms used for a fitted model (prior_summary), for the tests.
pybrms_fast_prior_summary <- function(fit) {
  pybrms_fast_prior_frame(brms::prior_summary(fit, all = TRUE))
}
