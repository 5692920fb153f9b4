package config

import (
	"errors"
	"fmt"
	"net/url"
)

// OIDC is the organisation's OpenID provider people may sign in with (Entra ID, Okta,
// Keycloak, Google...): membership runs the sign-in, the console offers it on its sign-in
// page. Embed it in a service's settings; an empty issuer means no provider.
type OIDC struct {
	OIDCIssuer       string `envconfig:"COPNET_OIDC_ISSUER"`
	OIDCClientID     string `envconfig:"COPNET_OIDC_CLIENT_ID"`
	OIDCClientSecret string `envconfig:"COPNET_OIDC_CLIENT_SECRET"`
	// OIDCName is how the sign-in page names the provider ("Sign in with ...").
	OIDCName string `envconfig:"COPNET_OIDC_NAME" default:"your organisation's account"`
}

// Enabled reports whether a provider is configured.
func (o OIDC) Enabled() bool { return o.OIDCIssuer != "" }

// CheckOIDC reports what is wrong with the provider's settings.
func (o OIDC) CheckOIDC() error {
	if !o.Enabled() {
		if o.OIDCClientID != "" || o.OIDCClientSecret != "" {
			return errors.New("COPNET_OIDC_CLIENT_ID and COPNET_OIDC_CLIENT_SECRET need COPNET_OIDC_ISSUER")
		}
		return nil
	}
	var errs []error
	u, err := url.Parse(o.OIDCIssuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		errs = append(errs, fmt.Errorf("COPNET_OIDC_ISSUER %q must be the provider's https URL", o.OIDCIssuer))
	}
	if o.OIDCClientID == "" {
		errs = append(errs, errors.New("COPNET_OIDC_CLIENT_ID is required with COPNET_OIDC_ISSUER"))
	}
	return errors.Join(errs...)
}
