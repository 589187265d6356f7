// maidian in three lines: require (installs the App/Page/Component hooks), init, track.
const md = require('maidian');
const config = require('./config.js');

md.init({
  serverUrl: config.serverUrl,
  writeKey: config.writeKey,
  // Nothing is stored or sent until the user agrees (see the banner on the home page).
  consent: 'pending',
  autoTrack: { appLaunch: true, appShow: true, appHide: true, pageView: true, pageLeave: true, click: true, exposure: true, share: true },
});

App({
  globalData: { cart: [], lastOrder: null },

  onLaunch() {
    // A returning user's earlier decision is restored by the SDK itself; nothing to do here.
  },

  addToCart(product, quantity) {
    const line = this.globalData.cart.find((l) => l.sku === product.sku);
    if (line) line.quantity += quantity;
    else this.globalData.cart.push({ sku: product.sku, name: product.name, price: product.price, quantity });
  },

  cartTotal() {
    return this.globalData.cart.reduce((sum, l) => sum + l.price * l.quantity, 0);
  },
});
