//! ALPN selection (RFC 7301 §3.2). The server chooses by its own preference among the
//! client's offers, or lets the application's `AlpnSelector` choose; no overlap (or a
//! refusal) is a fatal `no_application_protocol`.

use crate::config::{AlpnChoice, ServerConfig};
use crate::error::{Error, PeerIncompatible, PeerMisbehaved};

/// Server side: the protocol for a ClientHello that `offered` these (`None`: no ALPN
/// extension), chosen by the configuration's selector if it has one, else by [`select`].
pub fn server_choice(config: &ServerConfig, offered: Option<&[Vec<u8>]>) -> Result<Option<Vec<u8>>, Error> {
    let Some(selector) = &config.alpn_selector else {
        return select(&config.common.alpn_protocols, offered);
    };
    let Some(offered) = offered else { return Ok(None) };
    match selector.select(offered) {
        AlpnChoice::Decline => Ok(None),
        // An index past the offer's end refuses, as documented.
        AlpnChoice::Protocol(i) => {
            offered.get(i).cloned().map(Some).ok_or(PeerIncompatible::NoCommonApplicationProtocol.into())
        }
        AlpnChoice::Refuse => Err(PeerIncompatible::NoCommonApplicationProtocol.into()),
    }
}

/// Server side: pick the first of `ours` that the client offered.
///
/// Returns `Ok(None)` when either side has no ALPN configured (the extension is then
/// simply not answered), and an error when both have lists without overlap.
pub fn select(ours: &[Vec<u8>], offered: Option<&[Vec<u8>]>) -> Result<Option<Vec<u8>>, Error> {
    let Some(offered) = offered else { return Ok(None) };
    if ours.is_empty() {
        return Ok(None);
    }
    // RFC 7301 §3.2: "In the event that the server supports no protocols that the client
    // advertises, then the server SHALL respond with a fatal no_application_protocol alert."
    ours.iter()
        .find(|p| offered.contains(p))
        .cloned()
        .map(Some)
        .ok_or(PeerIncompatible::NoCommonApplicationProtocol.into())
}

/// Client side: the server's answer must name exactly one protocol we offered
/// (RFC 7301 §3.1).
pub fn check_answer(offered: &[Vec<u8>], answer: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    match answer {
        [one] if offered.contains(one) => Ok(one.clone()),
        _ => Err(PeerMisbehaved::UnofferedProtocol.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn server_preference_wins() {
        let got = select(&v(&["h2", "coap"]), Some(&v(&["coap", "h2"]))).unwrap();
        assert_eq!(got, Some(b"h2".to_vec()));
    }

    #[test]
    fn no_overlap_is_no_application_protocol() {
        let e = select(&v(&["h2"]), Some(&v(&["coap"]))).unwrap_err();
        assert_eq!(e.alert(), Some(crate::wire::AlertDescription::NoApplicationProtocol));
    }

    #[test]
    fn unconfigured_server_ignores_alpn() {
        assert_eq!(select(&[], Some(&v(&["h2"]))).unwrap(), None);
    }

    #[test]
    fn client_rejects_unoffered_or_multiple() {
        assert!(check_answer(&v(&["h2"]), &v(&["coap"])).is_err());
        assert!(check_answer(&v(&["h2", "coap"]), &v(&["h2", "coap"])).is_err());
        assert_eq!(check_answer(&v(&["h2"]), &v(&["h2"])).unwrap(), b"h2");
    }
}
