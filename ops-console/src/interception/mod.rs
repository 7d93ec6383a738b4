//! Interception cases (DOMAIN.md §1, §6, §9, §10): the legal workflow of article 8 of
//! the Smuggling of Migrants Protocol as data. Pure and deterministic: the console
//! persists, signs and shows what these types decide.
//!
//! Today: the [`art8`] case (flag-State request, authorization, boarding, search,
//! measures, results report, closure). Rescue, the roster of persons, the evidence
//! register and the hash-chained interception log follow (issue 7).

pub mod art8;
