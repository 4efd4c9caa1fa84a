//! The detection engine (Sigma, IOC matching). Built in issue 3.
