const md = require('maidian');
const { inCategory } = require('../../utils/catalog.js');

Page({
  data: { category: '', items: [] },

  onLoad(query) {
    const category = query.category || 'tea';
    this.setData({ category, items: inCategory(category) }, () => {
      // New nodes after setData: let the exposure observer see them.
      md.rescanExposure(this);
    });
  },

  onProductTap(e) {
    wx.navigateTo({ url: `/pages/detail/detail?sku=${e.currentTarget.dataset.sku}&from=list` });
  },
});
