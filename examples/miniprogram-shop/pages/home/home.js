const md = require('maidian');
const { categories, products } = require('../../utils/catalog.js');

Page({
  data: {
    askConsent: false,
    categories,
    recommended: products.slice(0, 4),
  },

  onLoad() {
    this.setData({ askConsent: !wx.getStorageSync('shop:consent-asked') });
  },

  onAccept() {
    wx.setStorageSync('shop:consent-asked', 1);
    md.consent.grant();
    this.setData({ askConsent: false });
  },

  onDecline() {
    wx.setStorageSync('shop:consent-asked', 1);
    md.consent.deny();
    this.setData({ askConsent: false });
  },

  onCategoryTap(e) {
    wx.navigateTo({ url: `/pages/list/list?category=${e.currentTarget.dataset.category}` });
  },

  onProductTap(e) {
    wx.navigateTo({ url: `/pages/detail/detail?sku=${e.currentTarget.dataset.sku}&from=home` });
  },

  onShareAppMessage() {
    return { title: 'A tea shop worth a look', path: '/pages/home/home' };
  },
});
