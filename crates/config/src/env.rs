//! The environment layer: `MAMORI_*` variables, asked for by name.

use crate::error::{ConfigError, ErrorSource};
use crate::keys::Key;
use crate::layer::{EnvFn, Layer};
use crate::value::Raw;

/// Reads every known variable through `env`; empty values count as unset.
pub(crate) fn parse(env: EnvFn<'_>, secret_env: EnvFn<'_>, errors: &mut Vec<ConfigError>) -> Layer {
    let mut layer = Layer::default();
    for key in Key::ALL {
        let var = key.env_var();
        let Some(value) = env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        if let Err(message) = layer.set(key, Raw::Text(&value), secret_env) {
            let source = ErrorSource::Env {
                var: var.to_owned(),
            };
            errors.push(ConfigError::new(source, key.path(), message));
        }
    }
    layer
}
