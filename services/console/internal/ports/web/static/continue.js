// After signing in, move on to the console from this page (a same-site navigation, so the
// SameSite=Strict session cookie goes with it). Without JavaScript the link does the same.
location.replace("/");
