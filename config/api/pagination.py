"""Pagination of the conventional ``GET`` lists (``?page=&page_size=``, DRF's envelope)."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000
