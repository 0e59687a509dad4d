//! `#[solo::main]` and `#[solo::test]`: run an `async fn` on a fresh solo
//! event loop, the way `if __name__ == "__main__": asyncio.run(main())`
//! does in Python.
//!
//! Use them through the `solo` crate (`#[solo::main]`, `#[solo::test]`);
//! the expansion refers to `::solo::...` paths.
//!
//! Both take the same options, in any order, separated by commas:
//!
//! | option | loop built with |
//! |---|---|
//! | (none) | `solo::run(..)` (debug mode if `SOLO_DEBUG=1`) |
//! | `debug` | `solo::EventLoop::builder().debug(true)` |
//! | `paused_clock` | `solo::EventLoop::builder().paused_clock()` |

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, Token};

/// Runs `async fn main` on a new solo event loop and closes the loop when
/// it returns (asyncio's `asyncio.run(main())`).
///
/// The function must be `async` and take no arguments; it may return
/// `()` or anything `main` may return, such as `Result<(), E>`, and use
/// `?` inside.
///
/// ```
/// use std::time::Duration;
///
/// #[solo::main]
/// async fn main() {
///     let task = solo::spawn(async {
///         solo::sleep(Duration::from_millis(10)).await;
///         "page"
///     });
///     assert_eq!(task.await.unwrap(), "page");
/// }
/// ```
///
/// Returning a `Result`:
///
/// ```
/// #[solo::main]
/// async fn main() -> Result<(), std::num::ParseIntError> {
///     let n: u32 = solo::to_thread(|| "42".parse()).await?;
///     assert_eq!(n, 42);
///     Ok(())
/// }
/// ```
///
/// `#[solo::main(debug)]` turns debug mode on (slow-poll warnings through
/// `tracing`, target `solo::debug`); `#[solo::main(paused_clock)]` runs on
/// the virtual clock, where sleeps complete as soon as nothing else can run:
///
/// ```
/// use std::time::Duration;
///
/// #[solo::main(debug, paused_clock)]
/// async fn main() {
///     let t0 = solo::time::now();
///     solo::sleep(Duration::from_secs(3600)).await; // an hour, instantly
///     assert!(solo::time::now() - t0 >= Duration::from_secs(3600));
/// }
/// ```
///
/// The function must be `async`:
///
/// ```compile_fail
/// #[solo::main]
/// fn main() {}
/// ```
///
/// and take no arguments:
///
/// ```compile_fail
/// #[solo::main]
/// async fn main(verbose: bool) {}
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Turns an `async fn` into a `#[test]` that runs it on a new solo event
/// loop. Takes the same options as [`macro@main`]: `debug`, `paused_clock`.
///
/// ```
/// use std::time::Duration;
///
/// #[solo::test]
/// async fn fetches_concurrently() {
///     let pages = solo::gather((1..=3).map(|i| async move {
///         solo::sleep(Duration::from_millis(10)).await;
///         i
///     }))
///     .await;
///     assert_eq!(pages, [1, 2, 3]);
/// }
///
/// #[solo::test(paused_clock)]
/// async fn an_hour_of_timeouts_in_no_time() -> Result<(), solo::Elapsed> {
///     solo::timeout(Duration::from_secs(3600), async {}).await?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// It adds `#[test]` itself; writing both is an error:
///
/// ```compile_fail
/// #[solo::test]
/// #[test]
/// async fn twice() {}
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[solo::main]",
            Kind::Test => "#[solo::test]",
        }
    }
}

#[derive(Default)]
struct Options {
    debug: bool,
    paused_clock: bool,
}

fn parse_options(args: TokenStream2) -> syn::Result<Options> {
    let metas = Punctuated::<syn::Meta, Token![,]>::parse_terminated.parse2(args)?;
    let mut opts = Options::default();
    for meta in metas {
        let id = match &meta {
            syn::Meta::Path(p) if p.get_ident().is_some() => p
                .get_ident()
                .cloned()
                .unwrap_or_else(|| Ident::new("_", p.span())),
            other => {
                let name = other
                    .path()
                    .get_ident()
                    .map(Ident::to_string)
                    .unwrap_or_default();
                let tokio = matches!(
                    name.as_str(),
                    "flavor" | "worker_threads" | "start_paused" | "crate"
                );
                let hint = if tokio {
                    format!(" (`{name}` is tokio's option: solo runs one thread, one loop; `start_paused = true` is `paused_clock` here)")
                } else {
                    String::new()
                };
                return Err(syn::Error::new(
                    other.span(),
                    format!("options are plain words: expected `debug` or `paused_clock`{hint}"),
                ));
            }
        };
        let slot = match id.to_string().as_str() {
            "debug" => &mut opts.debug,
            "paused_clock" => &mut opts.paused_clock,
            other => {
                return Err(syn::Error::new(
                    id.span(),
                    format!("unknown option `{other}`: expected `debug` or `paused_clock`"),
                ))
            }
        };
        if std::mem::replace(slot, true) {
            return Err(syn::Error::new(id.span(), format!("`{id}` given twice")));
        }
    }
    Ok(opts)
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_error(item, e),
    };
    match parse_options(args).and_then(|opts| generate(kind, &opts, &func)) {
        Ok(out) => out,
        Err(e) => with_error(stand_in(&func), e),
    }
}

/// What to leave in place of a function the macro rejects, so that ours is
/// the only error: a plain `fn` of the same name and return type (no
/// "`main` function not found", no "`main` is not allowed to be `async`").
fn stand_in(func: &ItemFn) -> TokenStream2 {
    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &func.sig.ident;
    let output = &func.sig.output;
    quote! {
        #(#attrs)*
        #[allow(dead_code)]
        #vis fn #name() #output { ::core::unreachable!() }
    }
}

fn with_error(item: TokenStream2, e: syn::Error) -> TokenStream2 {
    let e = e.to_compile_error();
    quote! { #e #item }
}

fn generate(kind: Kind, opts: &Options, func: &ItemFn) -> syn::Result<TokenStream2> {
    let sig = &func.sig;
    let attr = kind.attr();
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("{attr} needs an `async fn`: add `async` before `fn`"),
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(
            &sig.inputs,
            format!("{attr} functions take no arguments"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(syn::Error::new(
            sig.generics.span(),
            format!("{attr} functions cannot be generic"),
        ));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span(),
            format!("{attr} functions cannot be `const`"),
        ));
    }
    if kind == Kind::Test {
        if let Some(a) = func.attrs.iter().find(|a| a.path().is_ident("test")) {
            return Err(syn::Error::new_spanned(
                a,
                "#[solo::test] already adds #[test]: remove this one",
            ));
        }
    }

    let attrs = &func.attrs;
    let vis = &func.vis;
    let name = &sig.ident;
    let output = &sig.output;
    let body = &func.block;
    // The body becomes an inner `async fn` with the same return type, so
    // `?` and `return` mean what they mean in the user's `async fn`.
    let inner = Ident::new("__solo_body", Span::mixed_site());
    let run = if opts.debug || opts.paused_clock {
        let debug = opts.debug.then(|| quote! { .debug(true) });
        let paused = opts.paused_clock.then(|| quote! { .paused_clock() });
        quote! {
            {
                let mut event_loop = ::solo::EventLoop::builder()
                    #debug
                    #paused
                    .build()
                    .expect("solo: cannot create the event loop");
                let output = event_loop.run_until_complete(#inner());
                event_loop.close();
                output
            }
        }
    } else {
        quote! { ::solo::run(#inner()) }
    };
    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis fn #name() #output {
            async fn #inner() #output #body
            #run
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[::core::prelude::v1::test]
    fn tokio_options_get_an_answer_that_says_so() {
        let e = parse_options(quote!(flavor = "current_thread"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("`flavor` is tokio's option"), "{e}");
        let e = parse_options(quote!(start_paused = true)).err().unwrap();
        assert!(e.to_string().contains("`paused_clock` here"), "{e}");
        let e = parse_options(quote!(debug(1))).err().unwrap();
        assert!(e.to_string().contains("plain words"), "{e}");
        let e = parse_options(quote!(fast)).err().unwrap();
        assert!(e.to_string().contains("unknown option `fast`"), "{e}");
        let o = parse_options(quote!(debug, paused_clock)).unwrap();
        assert!(o.debug && o.paused_clock);
    }
}
