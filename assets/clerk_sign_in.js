// Clerk organizations mode: Clerk's own sign-in, then (without an active organization) its
// "pick or create" list, then our session exchange. The page is /api/auth/clerk/sign-in; its
// settings are a JSON block in the page, never code. Same-origin file: the CSP allows it.
(function () {
  const config = JSON.parse(document.getElementById("td-clerk-config").textContent);
  const mount = document.getElementById("clerk");

  async function start() {
    const clerk = window.Clerk;
    await clerk.load();
    if (config.signedOut && clerk.user) {
      await clerk.signOut();
    }
    mount.textContent = "";
    if (!clerk.user) {
      clerk.mountSignIn(mount, { forceRedirectUrl: config.here, signUpForceRedirectUrl: config.here });
      return;
    }
    if (!clerk.organization && !config.invite) {
      clerk.mountOrganizationList(mount, {
        hidePersonal: true,
        afterSelectOrganizationUrl: config.exchange,
        afterCreateOrganizationUrl: config.exchange,
      });
      return;
    }
    window.location.assign(config.exchange);
  }

  const loader = document.getElementById("td-clerk-js");
  if (window.Clerk) {
    start();
  } else {
    loader.addEventListener("load", start);
  }
})();
