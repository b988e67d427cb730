//! The Kingdee client behind a tampering proxy: redirects are errors naming where they point
//! and nothing (least of all the password) follows them; oversized answers are refused.

use super::*;
use crate::proxy::{Action, Proxy, Trap};

fn via(s: &KdSimHandle, proxy: &Proxy, auth: Auth) -> Client {
    let settings = ClientSettings {
        base_url: format!("{}/k3cloud/", proxy.url),
        max_response_mb: 4,
        ..settings(s, auth, Duration::from_secs(20))
    };
    match Client::new(settings) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

#[tokio::test]
async fn redirects_are_refused_and_the_password_stays_home() {
    let s = sim(KdSimOptions::default());
    let trap = Trap::start();
    let location = format!("{}/k3cloud/x.kdsvc", trap.url);
    let proxy = {
        let location = location.clone();
        Proxy::start(&s.base_url(), move |_| Action::Respond {
            status: "307 Temporary Redirect",
            headers: vec![("location".into(), location.clone())],
            body: Vec::new(),
        })
    };
    let password = Auth::Password {
        password: Secret::new(s.password()),
    };
    let e = via(&s, &proxy, password)
        .login()
        .await
        .expect_err("redirected login");
    assert!(matches!(e, SinkError::Permanent(_)), "{e:?}");
    assert!(
        e.message().contains(&location) && e.message().contains("307"),
        "{e}"
    );
    let e = via(&s, &proxy, signed(&s))
        .batch_save(STOCK, &[stock_model("JSTSHOP-R", "r")], &Map::new())
        .await
        .expect_err("redirected save");
    assert!(matches!(e, SinkError::Permanent(_)), "{e:?}");
    assert!(e.message().contains(&location), "{e}");
    assert_eq!(trap.hits(), 0, "a request followed the redirect");
    assert!(s.saved(STOCK).is_empty());
}

#[tokio::test]
async fn oversized_answers_are_refused_writes_as_uncertain() {
    let s = sim(KdSimOptions::default());
    let proxy = Proxy::start(&s.base_url(), |r| {
        if r.path.contains("BatchSave") || r.path.contains("ExecuteBillQuery") {
            Action::Stream {
                prefix: br#"{"Result":{"ResponseStatus":{"IsSuccess":true,"SuccessEntitys":["#
                    .to_vec(),
                filler: br#"{"Id":1,"Number":"X","DIndex":0},"#.to_vec(),
                total: 300 << 20,
                announce: false,
            }
        } else {
            Action::Forward
        }
    });
    let c = via(&s, &proxy, signed(&s));
    let e = c
        .batch_save(STOCK, &[stock_model("JSTSHOP-B", "b")], &Map::new())
        .await
        .expect_err("huge save answer");
    // The save went through the proxy to nobody, but ferry cannot know that: look it up.
    assert!(matches!(e, SinkError::Uncertain(_)), "{e:?}");
    assert!(e.message().contains("larger than the 4 MB limit"), "{e}");
    let e = c
        .execute_bill_query(&json!({"FormId": STOCK, "FieldKeys": "FNumber", "FilterString": ""}))
        .await
        .expect_err("huge query answer");
    assert!(matches!(e, SinkError::Transient(_)), "{e:?}");
    assert!(e.message().contains("ExecuteBillQuery"), "{e}");
}
