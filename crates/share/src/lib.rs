//! Sharing logic that needs no storage: normalising shared values so that the same thing written
//! two ways correlates ([`normalise`]), warning lists of known-benign values that flag likely false
//! positives ([`warninglist`]), and the decay of an indicator's score with age ([`decay`]).

pub mod decay;
pub mod normalise;
pub mod warninglist;
